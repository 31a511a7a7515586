/*-------------------------------------------------------------------------
 * capture/slowlog_redact.c
 *		Secrets never leave a backend in a captured statement: the text
 *		and the plan of a slow statement are redacted before they are
 *		written to the server log or put in the ring, and the normalized
 *		text pg_stat_statements gives the worker (which keeps utility
 *		statements literally) is redacted the same way.
 *
 * The statement is cut into tokens by PostgreSQL's own scanner (as
 * pg_stat_statements does to normalize), so quoting, dollar quoting,
 * comments and escapes are read exactly as the server reads them.
 * A string constant (any form: '...', E'...', U&'...', $tag$...$tag$,
 * B'...', X'...') is replaced by '<redacted>' when
 *	- the token before it is a word containing "password" or "secret"
 *	  (ALTER/CREATE ROLE ... [ENCRYPTED] PASSWORD '...', CREATE USER
 *	  MAPPING ... OPTIONS (password '...'), sslpassword, client_secret, ...);
 *	- its own text contains "password", "secret", "pgm_endpoint" or
 *	  "pgm_webhook_s" (case-insensitive): a DO body or a function body
 *	  that builds such a statement is replaced whole;
 *	- the statement is sensitive: it names pgm_endpoint,
 *	  pgm_webhook_signature or pgm_webhook_secret (as an identifier, quoted
 *	  or not), or the caller knows it touches pgm_endpoint (its range
 *	  table): then every string constant is replaced.
 * Nothing else changes (numbers, identifiers, comments, layout), so the
 * text still parses and still shows what ran.
 *
 * A plan cannot be scanned as SQL; for a sensitive statement every
 * '...' span in it (EXPLAIN prints constants that way) is replaced, within
 * one line of a text plan or one string of a JSON plan, so a JSON plan
 * stays valid JSON.
 *
 * If the scanner fails (it should not, on a statement that ran) the whole
 * text is withheld.  Over-redaction is the safe direction everywhere.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "lib/stringinfo.h"
#include "nodes/parsenodes.h"
#include "parser/scanner.h"
#include "utils/memutils.h"

#include "capture/capture.h"

#define REDACTED "'<redacted>'"
#define WITHHELD "<statement withheld: pgmanage could not scan it for secrets>"

typedef struct RedactTok
{
	bool		string;			/* a string constant (any quoting form) */
	int			loc;
	int			len;
	bool		word;			/* identifier or keyword */
	bool		secret_word;	/* ... containing password or secret */
} RedactTok;

static bool
contains_ci(const char *s, int len, const char *needle)
{
	int			n = strlen(needle);
	int			i;

	for (i = 0; i + n <= len; i++)
	{
		if (pg_strncasecmp(s + i, needle, n) == 0)
			return true;
	}
	return false;
}

/*
 * What a token is, from its text (the scanner's copy, NUL after the token).
 * The grammar's token codes (gram.h) are not installed from PostgreSQL 16
 * on, so the kinds pgmanage needs are told by their first characters, as
 * the scanner itself tells them: 'x', E'x', N'x', B'x', X'x', U&'x' and
 * $tag$x$tag$ are string constants; "x" and U&"x" quoted identifiers.
 */
static bool
is_string_text(const char *s)
{
	if (s[0] == '\'')
		return true;
	if (s[0] != '\0' && strchr("eEnNbBxX", s[0]) != NULL && s[1] == '\'')
		return true;
	if ((s[0] == 'u' || s[0] == 'U') && s[1] == '&' && s[2] == '\'')
		return true;
	if (s[0] == '$' && (s[1] == '$' || s[1] == '_' || IS_HIGHBIT_SET(s[1]) ||
						(s[1] >= 'a' && s[1] <= 'z') || (s[1] >= 'A' && s[1] <= 'Z')))
		return true;
	return false;
}

static bool
is_identifier_text(const char *s)
{
	if (s[0] == '"')
		return true;
	if ((s[0] == 'u' || s[0] == 'U') && s[1] == '&' && s[2] == '"')
		return true;
	return s[0] == '_' || IS_HIGHBIT_SET(s[0]) ||
		(s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z');
}

/* is this token code one of a keyword?  (yylval is not set for others) */
static bool
is_keyword_token(int tok)
{
	static bool *is_kw = NULL;
	static int	max_tok = -1;

	if (is_kw == NULL)
	{
		int			i;

		for (i = 0; i < ScanKeywords.num_keywords; i++)
			max_tok = Max(max_tok, (int) ScanKeywordTokens[i]);
		is_kw = MemoryContextAllocZero(TopMemoryContext, max_tok + 1);
		for (i = 0; i < ScanKeywords.num_keywords; i++)
			is_kw[ScanKeywordTokens[i]] = true;
	}
	return tok >= 0 && tok <= max_tok && is_kw[tok];
}

/* a name that makes the whole statement sensitive */
static bool
is_sensitive_name(const char *s)
{
	return strcmp(s, "pgm_endpoint") == 0 ||
		strcmp(s, "pgm_webhook_signature") == 0 ||
		strcmp(s, "pgm_webhook_secret") == 0;
}

/* the body of a string constant that must go whole */
static bool
is_secret_body(const char *s, int len)
{
	return contains_ci(s, len, "password") || contains_ci(s, len, "secret") ||
		contains_ci(s, len, "pgm_endpoint") || contains_ci(s, len, "pgm_webhook_s");
}

/*
 * Cut text into tokens; returns them (palloc'd) and their number in *ntok,
 * and whether a sensitive name occurs in *sensitive.  ERRORs of the
 * scanner propagate.
 */
static RedactTok *
redact_scan(const char *text, int *ntok, bool *sensitive)
{
	core_yyscan_t yyscanner;
	core_yy_extra_type yyextra;
	core_YYSTYPE yylval;
	YYLTYPE		yylloc;
	int			alloc = 64;
	int			n = 0;
	RedactTok  *toks = palloc(sizeof(RedactTok) * alloc);

	yyscanner = scanner_init(text, &yyextra, &ScanKeywords, ScanKeywordTokens);
	/* the settings of the session that ran it are the ones in force */
	yyextra.escape_string_warning = false;
	for (;;)
	{
		int			tok = core_yylex(&yylval, &yylloc, yyscanner);
		RedactTok  *t;
		const char *word;

		if (tok == 0)
			break;
		if (n == alloc)
		{
			alloc *= 2;
			toks = repalloc(toks, sizeof(RedactTok) * alloc);
		}
		t = &toks[n++];
		t->loc = yylloc;
		/* flex has put a NUL after the token's text (pg_stat_statements relies on it too) */
		t->len = strlen(yyextra.scanbuf + yylloc);
		t->string = is_string_text(yyextra.scanbuf + yylloc);
		if (t->string)
			t->word = t->secret_word = false;
		else if (!is_keyword_token(tok) && is_identifier_text(yyextra.scanbuf + yylloc))
		{
			word = yylval.str;
			t->word = true;
			t->secret_word = contains_ci(word, strlen(word), "password") ||
				contains_ci(word, strlen(word), "secret");
			if (is_sensitive_name(word))
				*sensitive = true;
		}
		else if (is_keyword_token(tok))
		{
			/* a keyword's text is a plain ASCII word */
			t->word = true;
			t->secret_word = contains_ci(text + yylloc, t->len, "password") ||
				contains_ci(text + yylloc, t->len, "secret");
		}
		else
			t->word = t->secret_word = false;
	}
	scanner_finish(yyscanner);
	*ntok = n;
	return toks;
}

/*
 * The statement text with its secrets replaced (palloc'd; the input when
 * nothing needed replacing).  force_all: the caller knows the statement is
 * sensitive.  *sensitive (may be NULL) is set when the statement is.
 */
/* redact_scan, with a scanner ERROR turned into NULL */
static RedactTok *
redact_scan_safe(const char *text, int *ntok, bool *sensitive)
{
	MemoryContext cxt = CurrentMemoryContext;
	RedactTok  *volatile toks = NULL;

	PG_TRY();
	{
		toks = redact_scan(text, ntok, sensitive);
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(cxt);
		FlushErrorState();
		toks = NULL;
	}
	PG_END_TRY();
	return toks;
}

char *
pgm_redact_statement(const char *text, bool force_all, bool *sensitive)
{
	RedactTok  *toks;
	int			ntok = 0;
	bool		sens = force_all;
	StringInfoData out;
	int			pos = 0;
	int			i;
	bool		changed = false;

	if (sensitive)
		*sensitive = force_all;
	if (text == NULL || text[0] == '\0')
		return (char *) text;

	toks = redact_scan_safe(text, &ntok, &sens);
	if (toks == NULL)
	{
		if (sensitive)
			*sensitive = true;
		return pstrdup(WITHHELD);
	}

	if (sensitive)
		*sensitive = sens;
	initStringInfo(&out);
	for (i = 0; i < ntok; i++)
	{
		RedactTok  *t = &toks[i];

		if (!t->string)
			continue;
		if (!(sens || (i > 0 && toks[i - 1].secret_word) || is_secret_body(text + t->loc, t->len)))
			continue;
		appendBinaryStringInfo(&out, text + pos, t->loc - pos);
		appendStringInfoString(&out, REDACTED);
		pos = t->loc + t->len;
		changed = true;
	}
	pfree(toks);
	if (!changed)
	{
		pfree(out.data);
		return (char *) text;
	}
	appendStringInfoString(&out, text + pos);
	return out.data;
}

/*
 * A plan of a sensitive statement with every '...' span replaced, within
 * one line (text) or one JSON string (json).
 */
char *
pgm_redact_plan(const char *plan, bool json)
{
	StringInfoData out;
	const char *p = plan;
	bool		in_json_string = false;

	if (plan == NULL)
		return NULL;
	initStringInfo(&out);
	while (*p)
	{
		if (json && !in_json_string)
		{
			if (*p == '"')
				in_json_string = true;
			appendStringInfoChar(&out, *p++);
			continue;
		}
		if (json && *p == '\\' && p[1] != '\0')
		{
			appendBinaryStringInfo(&out, p, 2);
			p += 2;
			continue;
		}
		if (json && *p == '"')
		{
			in_json_string = false;
			appendStringInfoChar(&out, *p++);
			continue;
		}
		if (*p != '\'')
		{
			appendStringInfoChar(&out, *p++);
			continue;
		}
		/* a quoted span: skip to its end ('' is a quote inside it) */
		p++;
		for (;;)
		{
			if (*p == '\0' || (!json && *p == '\n') || (json && *p == '"'))
				break;			/* unterminated: redact to the end of the line or string */
			if (json && *p == '\\' && p[1] != '\0')
			{
				p += 2;
				continue;
			}
			if (*p == '\'')
			{
				if (p[1] == '\'')
				{
					p += 2;
					continue;
				}
				p++;
				break;
			}
			p++;
		}
		appendStringInfoString(&out, REDACTED);
	}
	return out.data;
}
