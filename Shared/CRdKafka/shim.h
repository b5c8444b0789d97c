#ifndef HOOKLINE_CRDKAFKA_SHIM_H
#define HOOKLINE_CRDKAFKA_SHIM_H
#include <librdkafka/rdkafka.h>
#endif
