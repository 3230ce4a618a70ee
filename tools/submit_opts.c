/* submit_opts: the sendmail/`sluice submit` command line (docs/sendmail.md): getopt over
 * Postfix's sendmail options, -o/-O/-B translations, the DSN options (-N, -R, -V) and the
 * usage text. Honoured options set struct submit_opts; accepted-and-ignored ones are listed
 * in sendmail(1); anything else is EX_USAGE with a clear message. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "conf/conf.h"
#include "core/log.h"
#include "core/qid.h"
#include "core/xalloc.h"
#include "dkim/dkim.h"
#include "proto/addr.h"
#include "proto/cmd.h"
#include "proto/esmtp.h"
#include "proto/hdr.h"
#include "proto/maildrop.h"
#include "queue/queue.h"
#include "tools/submit.h"
#include "tools/tools.h"

/* The name submit's own diagnostics carry: "sluice submit", "sendmail", or -L TAG. */
/* ---- options ---- */

/* -O long names sendmail programs pass and what sluice does with them (the -o letter). */
static const struct {
    const char *name;
    char letter;
} submit_long_opts[] = {
    {"IgnoreDots", 'i'},   {"DeliveryMode", 'd'}, {"ErrorMode", 'e'},
    {"MeToo", 'm'},        {"SendMimeErrors", 'j'}, {"EightBitMode", 'j'},
};

/* One -o option (or the letter + value of a -O): honoured (i, e, 8) or accepted because
 * sluice always behaves that way (d, m, j). 0, or EX_USAGE with a message. */
static int submit_o(struct submit_opts *o, const char *who, char letter, const char *v)
{
    bool ok = true;
    switch (letter) {
    case 'i': ok = !*v || !strcasecmp(v, "true") || !strcasecmp(v, "false");
              o->dot_ok = strcasecmp(v, "false") != 0; break;
    case 'd': ok = !strcmp(v, "i") || !strcmp(v, "b") || !strcasecmp(v, "interactive") ||
                   !strcasecmp(v, "background"); break; /* always: durable queue, then delivery */
    case 'e': ok = (*v == 'm' || *v == 'p' || *v == 'e') && !v[1];
              o->errmail = *v == 'm'; break;
    case 'm': case 'j': break; /* the sender is never dropped from expansions; MIME DSNs always */
    default: ok = false;
    }
    if (!ok)
        fprintf(stderr, "%s: unsupported option -o%c%s\n", who, letter, v);
    return ok ? 0 : EX_USAGE;
}

/* -O name=value: a known sendmail option name maps onto its -o letter; an unknown one is
 * refused (sluice does not guess what it would mean). */
static int submit_O(struct submit_opts *o, const char *who, const char *arg)
{
    size_t n = strcspn(arg, "=");
    const char *v = arg[n] == '=' ? arg + n + 1 : "";
    char first[2] = {(char)tolower((unsigned char)*v), 0};
    for (size_t i = 0; i < sizeof submit_long_opts / sizeof *submit_long_opts; i++) {
        if (strlen(submit_long_opts[i].name) != n || strncasecmp(arg, submit_long_opts[i].name, n))
            continue;
        char letter = submit_long_opts[i].letter;
        if (letter == 'e' || letter == 'd')
            v = first; /* ErrorMode=mail, DeliveryMode=background: the first letter counts */
        return submit_o(o, who, letter, v);
    }
    fprintf(stderr, "%s: unknown option -O %.*s (known: IgnoreDots, DeliveryMode, ErrorMode, "
                    "MeToo, SendMimeErrors, EightBitMode)\n", who, (int)(n > 80 ? 80 : n), arg);
    return EX_USAGE;
}

/* -B TYPE: 7BIT or 8BITMIME. */
static int submit_B(struct submit_opts *o, const char *who, const char *arg)
{
    if (strcasecmp(arg, "8BITMIME") == 0 || strcasecmp(arg, "7BIT") == 0) {
        o->body8 = strcasecmp(arg, "8BITMIME") == 0;
        return 0;
    }
    fprintf(stderr, "%s: bad -B %.80s (want 7BIT or 8BITMIME)\n", who, arg);
    return EX_USAGE;
}

/* Parses -N (NOTIFY), -R (RET) and -V (ENVID) into s. 0, or -1 with a message. */
int submit_dsn_opts(struct submit *s, const struct submit_opts *o)
{
    struct cmd_param p[3];
    size_t n = 0;
    char nv[256];
    if (o->dsn) {
        snprintf(nv, sizeof nv, "%s", o->dsn);
        p[0] = (struct cmd_param){.name = "NOTIFY", .value = nv};
        struct esmtp_rcpt r;
        const char *bad;
        if (esmtp_rcpt_parse(p, 1, ESMTP_EXT_DSN, &r, &bad) != ESMTP_OK) {
            fprintf(stderr, "%s: bad -N %s (want never, or success,failure,delay)\n", submit_who,
                    o->dsn);
            return -1;
        }
        s->notify_all = r.notify;
    }
    if (o->ret)
        p[n++] = (struct cmd_param){.name = "RET", .value = o->ret};
    struct esmtp_mail m;
    const char *bad;
    if (n > 0 && esmtp_mail_parse(p, n, ESMTP_EXT_DSN, &m, &bad) != ESMTP_OK) {
        fprintf(stderr, "%s: bad -R %s (want full or hdrs)\n", submit_who, o->ret);
        return -1;
    }
    if (n > 0)
        s->flags |= m.ret == ESMTP_RET_FULL ? MSG_F_RET_FULL : MSG_F_RET_HDRS;
    if (o->envid) {
        size_t len = strlen(o->envid);
        bool ok = len > 0 && len <= ESMTP_ENVID_MAX;
        for (size_t i = 0; ok && i < len; i++)
            ok = o->envid[i] > ' ' && o->envid[i] < 0x7f;
        if (!ok) {
            fprintf(stderr, "%s: bad -V (1..100 printable characters)\n", submit_who);
            return -1;
        }
        snprintf(s->envid, sizeof s->envid, "%s", o->envid);
    }
    return 0;
}

static const char submit_usage[] =
    "usage: sluice submit [options] [RCPT...]   (or: sendmail [options] [RCPT...])\n"
    "  -c FILE, --config FILE  configuration (else $SLUICE_CONF, else " SLUICE_DEFAULT_CONF ")\n"
    "  -f SENDER, -r SENDER    envelope sender (\"<>\": null sender)\n"
    "  -F NAME                 full name for an added From header\n"
    "  -t                      recipients from To/Cc/Bcc too (Bcc removed)\n"
    "  -i, -oi                 a line with a single dot does not end the message\n"
    "  -N DSN, -R RET, -V ENVID  DSN NOTIFY (never or success,failure,delay), RET, ENVID\n"
    "  -v                      follow the message until every recipient is final\n"
    "  -bm                     read a message from stdin and queue it (the default)\n"
    "  -bs                     SMTP on stdin/stdout\n"
    "  -bp                     list the queue (mailq)\n"
    "  -q                      ask the running daemon for a queue run (75 when none runs)\n"
    "  -qR DOMAIN              ... for the mail waiting for DOMAIN only\n"
    "  -qI QID                 ... for the waiting recipients of message QID only\n"
    "  --help                  this text\n";

/* Reports an option sluice does not implement. */
static int submit_unsupported(const char *who, const char *opt)
{
    fprintf(stderr, "%s: unsupported option %s\n", who, opt);
    return EX_USAGE;
}

/* Parses the command line into o. 0, or an exit code (-1: --help was answered, exit 0). */
int submit_getopt(int argc, char **argv, const char *who, struct submit_opts *o)
{
    char opt[64];
    int ch, rc;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, ":c:f:r:F:tio:b:q::vN:R:V:O:B:L:GU", tool_longopts, NULL)) != -1) {
        switch (ch) {
        case 'c': o->path = optarg; break;
        case 'f': case 'r': o->from = optarg; break;
        case 'F': o->fullname = optarg; break;
        case 't': o->t = true; break;
        case 'i': o->dot_ok = true; break;
        case 'v': o->verbose = true; break;
        case 'N': o->dsn = optarg; break;
        case 'R': o->ret = optarg; break;
        case 'V': o->envid = optarg; break;
        case 'o':
            if ((rc = submit_o(o, who, optarg[0], optarg[0] ? optarg + 1 : "")) != 0)
                return rc;
            break;
        case 'O':
            if ((rc = submit_O(o, who, optarg)) != 0)
                return rc;
            break;
        case 'B':
            if ((rc = submit_B(o, who, optarg)) != 0)
                return rc;
            break;
        case 'L': o->tag = optarg; break;
        case 'G': case 'U': break; /* gateway / initial user submission: as Postfix, no effect */
        case 'b':
            if (strcmp(optarg, "m") && strcmp(optarg, "s") && strcmp(optarg, "p") && strcmp(optarg, "i"))
                return snprintf(opt, sizeof opt, "-b%.40s", optarg), submit_unsupported(who, opt);
            o->mode = optarg[0];
            break;
        case 'q':
            if (optarg && ((optarg[0] != 'R' && optarg[0] != 'I') ||
                           (!optarg[1] && (optind >= argc || !*argv[optind]))))
                return snprintf(opt, sizeof opt, "-q%.40s", optarg), submit_unsupported(who, opt);
            o->queue_run = true;
            if (optarg) {
                o->run_kind = optarg[0];
                o->run_value = optarg[1] ? optarg + 1 : argv[optind++];
            }
            break;
        case TOOL_OPT_HELP: tool_help(submit_usage); return -1;
        default: return tool_bad_option(who, ch, argv, submit_usage);
        }
    }
    return 0;
}

