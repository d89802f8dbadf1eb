// SPDX-License-Identifier: Apache-2.0
/* EventsTrace's network accounting: the atop server and NET_BANDWIDTH records. */
#ifndef TW_NETACCT_OUT_H
#define TW_NETACCT_OUT_H

#include <stdio.h>

#include "cli.h"

struct et_netacct;

/* Opens accounting (and the server) when the CLI asks for it; *out NULL otherwise. */
int et_netacct_open(struct et_netacct **out, const struct tw_cli *cli);
/* Prints the NET_BANDWIDTH records due now; returns -1 when `out` failed. */
int et_netacct_poll(struct et_netacct *n, FILE *out);
/* The library handle (NULL when accounting is off), for the metrics (metrics_out.c). */
struct tw_netacct *et_netacct_handle(struct et_netacct *n);
/* Summary to stderr (drops, evictions, memory), then stop the server and detach. */
void et_netacct_close(struct et_netacct *n);

#endif
