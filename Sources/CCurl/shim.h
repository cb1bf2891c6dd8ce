// libcurl, Debian package libcurl4-openssl-dev. Only AlertNotify imports this
// (SMTP delivery of the email integration).
//
// curl_easy_setopt and curl_easy_getinfo are variadic, which Swift cannot
// call: each wrapper below fixes one argument type, so a Swift caller can
// only pass what the option expects.
#ifndef CCURL_SHIM_H
#define CCURL_SHIM_H
#include <curl/curl.h>

// CURLOPT_PROTOCOLS_STR (7.85) and CURLOPT_SASL_AUTHZID (7.66) are used.
_Static_assert(LIBCURL_VERSION_NUM >= 0x075500, "libcurl 7.85 or newer is required");
// The read callback returns size_t, which Swift sees as Int.
_Static_assert(sizeof(size_t) == sizeof(long), "size_t and long differ in size");

static inline CURLcode CCurl_global_init_default(void) {
    return curl_global_init(CURL_GLOBAL_DEFAULT);
}

static inline CURLcode CCurl_setopt_long(CURL *curl, CURLoption option, long value) {
    return curl_easy_setopt(curl, option, value);
}

static inline CURLcode CCurl_setopt_string(CURL *curl, CURLoption option, const char *value) {
    return curl_easy_setopt(curl, option, value);
}

static inline CURLcode CCurl_setopt_pointer(CURL *curl, CURLoption option, void *value) {
    return curl_easy_setopt(curl, option, value);
}

static inline CURLcode CCurl_setopt_slist(CURL *curl, CURLoption option, struct curl_slist *value) {
    return curl_easy_setopt(curl, option, value);
}

static inline CURLcode CCurl_setopt_read_function(CURL *curl, curl_read_callback callback) {
    return curl_easy_setopt(curl, CURLOPT_READFUNCTION, callback);
}

static inline CURLcode CCurl_getinfo_long(CURL *curl, CURLINFO info, long *value) {
    return curl_easy_getinfo(curl, info, value);
}

static const size_t CCurl_read_abort = CURL_READFUNC_ABORT;
static const size_t CCurl_error_size = CURL_ERROR_SIZE;

#endif
