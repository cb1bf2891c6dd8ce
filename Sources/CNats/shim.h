// libnats (nats.c), Debian package libnats-dev. Only AlertIngest imports this.
#ifndef CNATS_SHIM_H
#define CNATS_SHIM_H
#include <nats/nats.h>
#endif
