// A C interface to the part of RE2 the matchers need: compile, full match,
// free. No C++ type or exception crosses it. Only AlertCore imports this.
#ifndef CRE2_H
#define CRE2_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// A compiled RE2 pattern (UTF-8, RE2's own syntax = Go regexp's). Immutable
/// after CRE2_compile: CRE2_full_match may run on it from any thread at once.
typedef struct CRE2_regexp CRE2_regexp;

/// Compiles `pattern` (`length` bytes, not NUL-terminated; NULL for the empty
/// pattern). Returns NULL only
/// when memory ran out; a pattern RE2 refuses still gives a handle, with
/// CRE2_error_code() != 0. The caller frees the handle with CRE2_free.
CRE2_regexp *_Nullable CRE2_compile(const char *_Nullable pattern, size_t length);

/// RE2::ErrorCode: 0 when the pattern compiled.
int CRE2_error_code(const CRE2_regexp *_Nonnull re);

/// The fragment of the pattern RE2 blames (RE2::error_arg), valid until
/// CRE2_free; its length goes to `*length`.
const char *_Nonnull CRE2_error_arg(const CRE2_regexp *_Nonnull re, size_t *_Nonnull length);

/// Whether the whole of `text` (`length` bytes) matches. 0 for a pattern
/// that did not compile.
int CRE2_full_match(const CRE2_regexp *_Nonnull re, const char *_Nullable text, size_t length);

void CRE2_free(CRE2_regexp *_Nullable re);

#ifdef __cplusplus
}
#endif

#endif
