/* SPDX-License-Identifier: MIT */
/* Type definitions both x86 target descriptions (x86-64 and i386) share. */
#ifndef KVMDBG_ARCH_X86_TARGET_XML_H
#define KVMDBG_ARCH_X86_TARGET_XML_H

#define X86_XML_EFLAGS_TYPE \
	"<flags id=\"x86_eflags\" size=\"4\">\n" \
	"<field name=\"CF\" start=\"0\" end=\"0\"/>\n" \
	"<field name=\"PF\" start=\"2\" end=\"2\"/>\n" \
	"<field name=\"AF\" start=\"4\" end=\"4\"/>\n" \
	"<field name=\"ZF\" start=\"6\" end=\"6\"/>\n" \
	"<field name=\"SF\" start=\"7\" end=\"7\"/>\n" \
	"<field name=\"TF\" start=\"8\" end=\"8\"/>\n" \
	"<field name=\"IF\" start=\"9\" end=\"9\"/>\n" \
	"<field name=\"DF\" start=\"10\" end=\"10\"/>\n" \
	"<field name=\"OF\" start=\"11\" end=\"11\"/>\n" \
	"<field name=\"NT\" start=\"14\" end=\"14\"/>\n" \
	"<field name=\"RF\" start=\"16\" end=\"16\"/>\n" \
	"<field name=\"VM\" start=\"17\" end=\"17\"/>\n" \
	"<field name=\"AC\" start=\"18\" end=\"18\"/>\n" \
	"<field name=\"VIF\" start=\"19\" end=\"19\"/>\n" \
	"<field name=\"VIP\" start=\"20\" end=\"20\"/>\n" \
	"<field name=\"ID\" start=\"21\" end=\"21\"/>\n" \
	"</flags>\n"

#define X86_XML_SSE_TYPES \
	"<vector id=\"v4f\" type=\"ieee_single\" count=\"4\"/>\n" \
	"<vector id=\"v2d\" type=\"ieee_double\" count=\"2\"/>\n" \
	"<vector id=\"v16i8\" type=\"int8\" count=\"16\"/>\n" \
	"<vector id=\"v8i16\" type=\"int16\" count=\"8\"/>\n" \
	"<vector id=\"v4i32\" type=\"int32\" count=\"4\"/>\n" \
	"<vector id=\"v2i64\" type=\"int64\" count=\"2\"/>\n" \
	"<union id=\"vec128\">\n" \
	"<field name=\"v4_float\" type=\"v4f\"/>\n" \
	"<field name=\"v2_double\" type=\"v2d\"/>\n" \
	"<field name=\"v16_int8\" type=\"v16i8\"/>\n" \
	"<field name=\"v8_int16\" type=\"v8i16\"/>\n" \
	"<field name=\"v4_int32\" type=\"v4i32\"/>\n" \
	"<field name=\"v2_int64\" type=\"v2i64\"/>\n" \
	"<field name=\"uint128\" type=\"uint128\"/>\n" \
	"</union>\n" \
	"<flags id=\"x86_mxcsr\" size=\"4\">\n" \
	"<field name=\"IE\" start=\"0\" end=\"0\"/>\n" \
	"<field name=\"DE\" start=\"1\" end=\"1\"/>\n" \
	"<field name=\"ZE\" start=\"2\" end=\"2\"/>\n" \
	"<field name=\"OE\" start=\"3\" end=\"3\"/>\n" \
	"<field name=\"UE\" start=\"4\" end=\"4\"/>\n" \
	"<field name=\"PE\" start=\"5\" end=\"5\"/>\n" \
	"<field name=\"DAZ\" start=\"6\" end=\"6\"/>\n" \
	"<field name=\"IM\" start=\"7\" end=\"7\"/>\n" \
	"<field name=\"DM\" start=\"8\" end=\"8\"/>\n" \
	"<field name=\"ZM\" start=\"9\" end=\"9\"/>\n" \
	"<field name=\"OM\" start=\"10\" end=\"10\"/>\n" \
	"<field name=\"UM\" start=\"11\" end=\"11\"/>\n" \
	"<field name=\"PM\" start=\"12\" end=\"12\"/>\n" \
	"<field name=\"FZ\" start=\"15\" end=\"15\"/>\n" \
	"</flags>\n"

#define X86_XML_SYSTEM_TYPES \
	"<flags id=\"x86_cr0\" size=\"8\">\n" \
	"<field name=\"PE\" start=\"0\" end=\"0\"/>\n" \
	"<field name=\"MP\" start=\"1\" end=\"1\"/>\n" \
	"<field name=\"EM\" start=\"2\" end=\"2\"/>\n" \
	"<field name=\"TS\" start=\"3\" end=\"3\"/>\n" \
	"<field name=\"ET\" start=\"4\" end=\"4\"/>\n" \
	"<field name=\"NE\" start=\"5\" end=\"5\"/>\n" \
	"<field name=\"WP\" start=\"16\" end=\"16\"/>\n" \
	"<field name=\"AM\" start=\"18\" end=\"18\"/>\n" \
	"<field name=\"NW\" start=\"29\" end=\"29\"/>\n" \
	"<field name=\"CD\" start=\"30\" end=\"30\"/>\n" \
	"<field name=\"PG\" start=\"31\" end=\"31\"/>\n" \
	"</flags>\n" \
	"<flags id=\"x86_cr4\" size=\"8\">\n" \
	"<field name=\"VME\" start=\"0\" end=\"0\"/>\n" \
	"<field name=\"PVI\" start=\"1\" end=\"1\"/>\n" \
	"<field name=\"TSD\" start=\"2\" end=\"2\"/>\n" \
	"<field name=\"DE\" start=\"3\" end=\"3\"/>\n" \
	"<field name=\"PSE\" start=\"4\" end=\"4\"/>\n" \
	"<field name=\"PAE\" start=\"5\" end=\"5\"/>\n" \
	"<field name=\"MCE\" start=\"6\" end=\"6\"/>\n" \
	"<field name=\"PGE\" start=\"7\" end=\"7\"/>\n" \
	"<field name=\"PCE\" start=\"8\" end=\"8\"/>\n" \
	"<field name=\"OSFXSR\" start=\"9\" end=\"9\"/>\n" \
	"<field name=\"OSXMMEXCPT\" start=\"10\" end=\"10\"/>\n" \
	"<field name=\"UMIP\" start=\"11\" end=\"11\"/>\n" \
	"<field name=\"LA57\" start=\"12\" end=\"12\"/>\n" \
	"<field name=\"VMXE\" start=\"13\" end=\"13\"/>\n" \
	"<field name=\"SMXE\" start=\"14\" end=\"14\"/>\n" \
	"<field name=\"FSGSBASE\" start=\"16\" end=\"16\"/>\n" \
	"<field name=\"PCIDE\" start=\"17\" end=\"17\"/>\n" \
	"<field name=\"OSXSAVE\" start=\"18\" end=\"18\"/>\n" \
	"<field name=\"SMEP\" start=\"20\" end=\"20\"/>\n" \
	"<field name=\"SMAP\" start=\"21\" end=\"21\"/>\n" \
	"<field name=\"PKE\" start=\"22\" end=\"22\"/>\n" \
	"</flags>\n" \
	"<flags id=\"x86_efer\" size=\"8\">\n" \
	"<field name=\"SCE\" start=\"0\" end=\"0\"/>\n" \
	"<field name=\"LME\" start=\"8\" end=\"8\"/>\n" \
	"<field name=\"LMA\" start=\"10\" end=\"10\"/>\n" \
	"<field name=\"NXE\" start=\"11\" end=\"11\"/>\n" \
	"<field name=\"SVME\" start=\"12\" end=\"12\"/>\n" \
	"<field name=\"LMSLE\" start=\"13\" end=\"13\"/>\n" \
	"<field name=\"FFXSR\" start=\"14\" end=\"14\"/>\n" \
	"<field name=\"TCE\" start=\"15\" end=\"15\"/>\n" \
	"</flags>\n"

#endif
