/* SPDX-License-Identifier: MIT */
/*
 * The format of an agent printf.  The debugger's text never reaches the C
 * library as a format: each conversion is parsed here, checked against a
 * short list, and rebuilt from its parsed parts for one snprintf with one
 * argument of the type the conversion names.
 */
#include <stdio.h>
#include <string.h>

#include <kvmdbg/agent_expr.h>

/* Width and precision above this are refused: the text is cut at
 * KD_AX_PRINTF_MAX anyway. */
#define FIELD_MAX 4096

enum arg_class { ARG_INT, ARG_LONG, ARG_LLONG, ARG_SIZE, ARG_PTR, ARG_STRING };

struct conv {
	char spec[32];		/* "%-08.3llx" rebuilt from its parts */
	enum arg_class cls;
	long precision;		/* -1 when absent */
	size_t end;		/* offset just past the conversion */
};

static bool digits(const char *f, size_t len, size_t *i, long *val)
{
	long v = 0;
	size_t start = *i;

	while (*i < len && f[*i] >= '0' && f[*i] <= '9') {
		v = v * 10 + (f[*i] - '0');
		if (v > FIELD_MAX)
			return false;
		(*i)++;
	}
	*val = *i > start ? v : -1;
	return true;
}

/* The conversion starting at f[i] == '%' (not "%%"); false with *why. */
static bool parse_conv(const char *f, size_t len, size_t i, struct conv *c,
		       const char **why)
{
	size_t at = 0;
	long width;
	char lenmod[3] = "";
	char conv;

	c->spec[at++] = '%';
	for (i++; i < len && strchr("-+ #0", f[i]) && f[i]; i++)
		if (at < 8)
			c->spec[at++] = f[i];
	if (!digits(f, len, &i, &width))
		goto too_wide;
	if (width >= 0)
		at += (size_t)snprintf(c->spec + at, sizeof(c->spec) - at, "%ld", width);
	c->precision = -1;
	if (i < len && f[i] == '.') {
		i++;
		if (!digits(f, len, &i, &c->precision))
			goto too_wide;
		if (c->precision < 0)
			c->precision = 0;
		at += (size_t)snprintf(c->spec + at, sizeof(c->spec) - at, ".%ld",
				       c->precision);
	}
	if (i < len && (f[i] == 'h' || f[i] == 'l' || f[i] == 'z')) {
		lenmod[0] = f[i++];
		if (i < len && f[i] == lenmod[0] && lenmod[0] != 'z')
			lenmod[1] = f[i++];
	}
	if (i >= len || !f[i]) {
		*why = "printf format ends inside a conversion";
		return false;
	}
	conv = f[i++];
	if (strchr("diouxX", conv)) {
		c->cls = !strcmp(lenmod, "l") ? ARG_LONG : !strcmp(lenmod, "ll") ? ARG_LLONG :
			 !strcmp(lenmod, "z") ? ARG_SIZE : ARG_INT;
	} else if ((conv == 'c' || conv == 's' || conv == 'p') && !lenmod[0]) {
		c->cls = conv == 's' ? ARG_STRING : conv == 'p' ? ARG_PTR : ARG_INT;
	} else {
		*why = "printf conversion not supported by the stub (floating point, wide characters, '*', %n)";
		return false;
	}
	at += (size_t)snprintf(c->spec + at, sizeof(c->spec) - at, "%s%c", lenmod, conv);
	c->end = i;
	return true;
too_wide:
	*why = "printf width or precision too large";
	return false;
}

/* The character an escape "\c" stands for, or 0 for one gdb refuses. */
static char escaped(char c)
{
	switch (c) {
	case '\\': return '\\';
	case 'a': return '\a';
	case 'b': return '\b';
	case 'e': return '\033';
	case 'f': return '\f';
	case 'n': return '\n';
	case 'r': return '\r';
	case 't': return '\t';
	case 'v': return '\v';
	case '"': return '"';
	default: return 0;
	}
}

/*
 * The format as gdb's own printf reads it: up to an unescaped '"' or the
 * NUL, with C's escapes undone (gdb sends the text as typed).  Its length
 * in f, or -1 with *why.
 */
static long unescape(const char *fmt, size_t len, char *f, const char **why)
{
	size_t n = 0;

	if (!len || fmt[len - 1]) {
		*why = "printf format is not terminated";
		return -1;
	}
	for (size_t i = 0; fmt[i] && fmt[i] != '"'; i++) {
		char c = fmt[i];

		if (c == '\\' && !(c = escaped(fmt[++i]))) {
			*why = "printf format has an unknown escape sequence";
			return -1;
		}
		if (n == KD_AX_PRINTF_MAX - 1) {
			*why = "printf format too long";
			return -1;
		}
		f[n++] = c;
	}
	f[n] = 0;
	return (long)n;
}

long kd_ax_format_args(const char *text, size_t tlen, const char **why)
{
	char fmt[KD_AX_PRINTF_MAX];
	long flen = unescape(text, tlen, fmt, why);
	size_t len = flen < 0 ? 0 : (size_t)flen;
	struct conv c;
	long n = 0;

	if (flen < 0)
		return -1;
	for (size_t i = 0; i < len;) {
		if (fmt[i] != '%') {
			i++;
			continue;
		}
		if (i + 1 < len && fmt[i + 1] == '%') {
			i += 2;
			continue;
		}
		if (!parse_conv(fmt, len, i, &c, why))
			return -1;
		i = c.end;
		n++;
	}
	return n;
}

struct out {
	char *p;
	size_t len, cap;
};

static void put(struct out *o, const char *s, size_t n)
{
	size_t room = o->cap - 1 - o->len;

	if (n > room)
		n = room;
	memcpy(o->p + o->len, s, n);
	o->len += n;
	o->p[o->len] = 0;
}

/* A guest string, up to a NUL, the precision or KD_AX_STRING_MAX. */
static bool read_string(const struct kd_ax_env *env, uint64_t addr, long precision,
			char *s)
{
	size_t max = precision >= 0 && precision < KD_AX_STRING_MAX ? (size_t)precision
								     : KD_AX_STRING_MAX;
	size_t n;

	for (n = 0; n < max; n++) {
		if (env->read_mem(env->opaque, addr + n, s + n, 1) < 0)
			return false;
		if (!s[n])
			break;
	}
	s[n] = 0;
	return true;
}

static bool format_one(const struct conv *c, uint64_t arg, const struct kd_ax_env *env,
		       struct out *o)
{
	char piece[FIELD_MAX + KD_AX_STRING_MAX + 32];
	char str[KD_AX_STRING_MAX + 1];
	int n = 0;

	switch (c->cls) {
	case ARG_INT: n = snprintf(piece, sizeof(piece), c->spec, (int)arg); break;
	case ARG_LONG: n = snprintf(piece, sizeof(piece), c->spec, (long)arg); break;
	case ARG_LLONG: n = snprintf(piece, sizeof(piece), c->spec, (long long)arg); break;
	case ARG_SIZE: n = snprintf(piece, sizeof(piece), c->spec, (size_t)arg); break;
	case ARG_PTR:
		n = snprintf(piece, sizeof(piece), c->spec, (void *)(uintptr_t)arg);
		break;
	case ARG_STRING:
		if (!arg)
			strcpy(str, "(null)");
		else if (!read_string(env, arg, c->precision, str))
			return false;
		n = snprintf(piece, sizeof(piece), c->spec, str);
		break;
	}
	if (n > 0)
		put(o, piece, (size_t)n < sizeof(piece) ? (size_t)n : sizeof(piece) - 1);
	return true;
}

long kd_ax_format(const char *text, size_t tlen, const uint64_t *args, size_t nargs,
		  const struct kd_ax_env *env, char *out, size_t cap)
{
	struct out o = { .p = out, .cap = cap };
	char fmt[KD_AX_PRINTF_MAX];
	const char *why;
	long flen;
	size_t len, arg = 0;
	struct conv c;

	if (!cap)
		return -1;
	out[0] = 0;
	flen = unescape(text, tlen, fmt, &why);
	if (flen < 0)
		return -1;
	len = (size_t)flen;
	for (size_t i = 0; i < len;) {
		size_t lit = i;

		while (i < len && fmt[i] != '%')
			i++;
		put(&o, fmt + lit, i - lit);
		if (i >= len)
			break;
		if (i + 1 < len && fmt[i + 1] == '%') {
			put(&o, "%", 1);
			i += 2;
			continue;
		}
		if (!parse_conv(fmt, len, i, &c, &why) || arg >= nargs)
			return -1;
		if (!format_one(&c, args[arg++], env, &o))
			return -1;
		i = c.end;
	}
	return (long)o.len;
}
