/* SPDX-License-Identifier: MIT */
/* Internal interface between the command parser's translation units. */
#ifndef RSP_PARSE_H
#define RSP_PARSE_H

#include <kvmdbg/rsp.h>

#include "scan.h"

/* Packets with a multi-letter name: q..., Q..., v.... */
enum rsp_cmd_kind rsp_parse_named(struct rsp_scan *s, struct rsp_cmd *c);

/* The part of "vCont" after the name. */
enum rsp_cmd_kind rsp_parse_vcont(struct rsp_scan *s, struct rsp_cmd *c);

#endif
