// Umbrella header for the protoc-c output of proto/ (generated, committed;
// regenerate with scripts/generate-proto.sh).
#ifndef CALERTPROTO_H
#define CALERTPROTO_H
#include "alerting_v1_alert_event.pb-c.h"
#include "alerting_v1_metric_sample.pb-c.h"
#include "alerting_v1_state_event.pb-c.h"
#endif
