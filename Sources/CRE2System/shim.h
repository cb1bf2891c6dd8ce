// RE2 (Debian package libre2-dev) is C++: nothing of it is imported into Swift
// directly. This system-library target only carries pkg-config's flags for
// libre2 to the CRE2 shim, which wraps the few calls the matchers need in C.
#ifndef CRE2SYSTEM_SHIM_H
#define CRE2SYSTEM_SHIM_H
#endif
