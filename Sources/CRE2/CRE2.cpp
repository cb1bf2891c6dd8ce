// The C side of CRE2.h. Every entry point catches everything: a C++
// exception must never unwind into Swift.
#include "CRE2.h"

#include <new>
#include <re2/re2.h>

struct CRE2_regexp {
    re2::RE2 re;
    CRE2_regexp(const char *pattern, size_t length, const re2::RE2::Options &options)
        : re(re2::StringPiece(pattern ? pattern : "", pattern ? length : 0), options) {}
};

extern "C" CRE2_regexp *CRE2_compile(const char *pattern, size_t length) {
    try {
        re2::RE2::Options options;
        // Errors are returned to the caller, not printed to stderr.
        options.set_log_errors(false);
        // UTF-8, Perl classes and word boundaries, no POSIX mode: the syntax
        // of Go's regexp/syntax.Perl, which Alertmanager compiles with.
        options.set_encoding(re2::RE2::Options::EncodingUTF8);
        // A generous budget so large alternations Go accepts compile here too.
        options.set_max_mem(int64_t(64) << 20);
        return new (std::nothrow) CRE2_regexp(pattern, length, options);
    } catch (...) {
        return nullptr;
    }
}

extern "C" int CRE2_error_code(const CRE2_regexp *re) {
    return int(re->re.error_code());
}

extern "C" const char *CRE2_error_arg(const CRE2_regexp *re, size_t *length) {
    const std::string &arg = re->re.error_arg();
    *length = arg.size();
    return arg.data();
}

extern "C" int CRE2_full_match(const CRE2_regexp *re, const char *text, size_t length) {
    try {
        if (!re->re.ok()) return 0;
        return re2::RE2::FullMatch(re2::StringPiece(text ? text : "", text ? length : 0), re->re) ? 1 : 0;
    } catch (...) {
        return 0;
    }
}

extern "C" void CRE2_free(CRE2_regexp *re) {
    delete re;
}
