/* transcript: SMTP session transcripts through an audit_log (contracts in transcript.h). */
#include "audit/transcript.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "audit/audit.h"
#include "conf/conf.h"
#include "core/log.h"
#include "core/qid.h"
#include "core/xalloc.h"

struct transcript {
    struct audit_log *log;
    char id[24];
};

static atomic_uint_fast64_t transcript_seq;

/* True when name equals domain d or lies below it (case-insensitive, trailing dot ignored). */
static bool transcript_domain_match(const char *name, const char *d)
{
    size_t n = strlen(name), dl = strlen(d);
    if (n > 0 && name[n - 1] == '.')
        n--;
    if (dl == 0 || n < dl || strncasecmp(name + n - dl, d, dl) != 0)
        return false;
    return n == dl || name[n - dl - 1] == '.';
}

/* Is this peer recorded? */
bool transcript_wanted(const struct logspec *spec, const struct sockaddr *peer, const char *name)
{
    if (!spec || !spec->path)
        return false;
    if (spec->nnets == 0 && spec->ndomains == 0)
        return true;
    if (peer && cidr_match_any(spec->nets, spec->nnets, peer))
        return true;
    for (size_t i = 0; name && *name && i < spec->ndomains; i++)
        if (transcript_domain_match(name, spec->domains[i]))
            return true;
    return false;
}

/* Starts a session. */
struct transcript *transcript_open(struct audit_log *log, const struct logspec *spec, char kind,
                                   const struct sockaddr *peer, const char *name)
{
    if (!log || !transcript_wanted(spec, peer, name))
        return NULL;
    struct transcript *t = xcalloc(1, sizeof *t);
    t->log = log;
    snprintf(t->id, sizeof t->id, "%c%" PRIu64, kind == 'S' ? 'S' : 'C',
             (uint64_t)atomic_fetch_add(&transcript_seq, 1) + 1);
    char ip[64] = "?", note[400];
    if (peer)
        cidr_sockaddr_to_text(peer, ip, sizeof ip);
    snprintf(note, sizeof note, "connect %.256s[%s]", name && *name ? name : "", ip);
    transcript_line(t, '*', note, strlen(note));
    return t;
}

/* One line. */
void transcript_line(struct transcript *t, char dir, const char *text, size_t len)
{
    if (!t)
        return;
    char tm[32], safe[LOG_SANITIZED_SIZE(TRANSCRIPT_TEXT_MAX)],
        line[LOG_SANITIZED_SIZE(TRANSCRIPT_TEXT_MAX) + 64];
    int64_t now = clock_wall_ms();
    if (len > TRANSCRIPT_TEXT_MAX)
        len = TRANSCRIPT_TEXT_MAX;
    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
        len--;
    log_sanitize(safe, sizeof safe, text, len);
    int n = snprintf(line, sizeof line, "%s %s %c %s", audit_time(now, tm, sizeof tm), t->id,
                     dir == '>' || dir == '<' ? dir : '*', safe);
    if (n > 0)
        audit_log_write(t->log, now, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

/* Ends a session. */
void transcript_close(struct transcript *t, const char *why)
{
    if (!t)
        return;
    char note[600];
    snprintf(note, sizeof note, "close: %.500s", why && *why ? why : "session ended");
    transcript_line(t, '*', note, strlen(note));
    free(t);
}
