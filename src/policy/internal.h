/* policy/internal.h: what the engine's files share (policy.c: configuration, HELO table,
 * map stages, policy servers, sessions; rbl.c: DNSBL and RHSBL lookups and their cache).
 * Not for other modules. */
#ifndef SLUICE_POLICY_INTERNAL_H
#define SLUICE_POLICY_INTERNAL_H
#include "policy/policy.h"

#include <fnmatch.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <event2/event.h>

#include "conf/conf.h"
#include "core/dict.h"
#include "core/log.h"
#include "core/qid.h"
#include "core/xalloc.h"
#include "dns/dns.h"
#include "policy/delegate.h"
#include "policy/policydb.h"
#include "proto/addr.h"
#include "proto/cidr.h"
#include "proto/dnsbl.h"
#include "proto/helopat.h"
#include "proto/policyd.h"

#define POLICY_TTL_MIN 10
#define POLICY_TTL_MAX 3600
#define POLICY_CACHE_MAX 10000
#define POLICY_REQ_MAX 8192

struct rbl_wait {
    struct policy_client *pc;
    size_t list;
    struct rbl_wait *next;
};

enum rbl_state { RBL_UNSET, RBL_PENDING, RBL_LISTED, RBL_CLEAN };

/* The names an RHSBL list is asked about (slots of policy_client.rbl after the DNSBLs). */
enum rhs_src { RHS_SENDER, RHS_CLIENT, RHS_HELO, RHS_NSRC };

struct rbl_entry {
    struct policy_engine *p;
    const struct dnsbl_list *l; /* the list asked */
    enum rbl_state state;
    int64_t expires; /* monotonic ms */
    struct rbl_wait *waiters;
    char qname[256];
};

struct policy_engine {
    struct event_base *base;
    const struct conf *c;
    struct dns *dns;
    struct policydb *db;
    char map[1024];
    struct helopat *helo;
    size_t nhelo;
    struct dnsbl_list *lists;
    size_t nlists;
    struct dnsbl_list *rhs; /* RHSBL lists */
    size_t nrhs;
    struct policyd_service *svcs;
    size_t nsvcs;
    struct policyd_service *dsvcs; /* asked at the end of DATA */
    size_t ndsvcs;
    struct policyd_reply deflt;
    struct dict *cache;
};

enum pc_step { PC_IDLE, PC_DNSBL, PC_SERVICE, PC_READY };

struct policy_client {
    struct policy_engine *p;
    bool trusted;
    char ip[64];
    enum rbl_state *rbl; /* per DNSBL list, then RHS_NSRC per RHSBL list */
    char rhs_name[RHS_NSRC][256]; /* the names the RHSBL slots were started for */
    size_t rbl_pending;
    int64_t rbl_deadline; /* monotonic ms */
    struct event *timer;  /* the DNSBL deadline while waiting at RCPT */
    enum pc_step step;
    const struct policyd_service *set; /* the services of this request */
    size_t nset;
    const char *what; /* "Recipient address" or "End-of-data" (reply texts) */
    size_t svc;       /* the service being asked */
    struct delegate_req *req;
    char *request;      /* the request text for the services */
    char rcpt[320];     /* the recipient being asked about (reply texts) */
    char sender[320];   /* the sender of the request (reply texts) */
    char prepend[1024]; /* PREPEND lines of this RCPT so far */
    bool hold;          /* HOLD answered for this RCPT */
    char redirect[320]; /* REDIRECT's address for this RCPT, or "" */
    char action_rule[720];
    bool defer_if_permit, defer_if_reject;
    struct policy_verdict pending; /* DEFER_IF_PERMIT's refusal */
    struct policy_verdict out;
    policy_done_fn done;
    void *arg;
};

void policy_rbl_answer(struct policy_client *pc, size_t list, enum rbl_state st);
enum rbl_state policy_rbl_classify(const struct dnsbl_list *l, struct mx_result *res,
                                          const char *qname);
void policy_on_rbl(void *arg, struct mx_result *res);
void policy_cache_prune_one(void *arg, const char *key, void *value);
void policy_cache_prune(struct policy_engine *p);
void policy_rbl_start(struct policy_client *pc, size_t i, int fam, const uint8_t *a);
void policy_rbl_lookup(struct policy_client *pc, size_t i, const struct dnsbl_list *l,
                              const char *q);
void policy_rbl_begin(struct policy_client *pc, const struct sockaddr *sa);
void policy_rbl_unwait_one(void *arg, const char *key, void *value);
void policy_rhs_start(struct policy_client *pc, size_t j, enum rhs_src k, const char *name);
const struct dnsbl_list *policy_slot(const struct policy_client *pc, size_t i,
                                            const char *sender, char *subj, size_t len);
void policy_names_add(char *names, size_t len, const char *zone);
void policy_rbl_verdict(struct policy_client *pc, struct policy_verdict *v);
void policy_on_rbl_deadline(evutil_socket_t fd, short what, void *arg);
void policy_rbl_step(struct policy_client *pc);
void policy_rbl_wait(struct policy_client *pc);
struct policy_unwait {
    struct policy_client *pc;
    size_t slot; /* SIZE_MAX: every slot */
};

/* Declared here, defined in policy.c (rbl.c's verdicts lead on to the servers). */
void policy_svc_next(struct policy_client *pc);
void policy_finish(struct policy_client *pc, const struct policy_verdict *v);
void policy_refuse(struct policy_verdict *v, unsigned code, const char *status,
                   const char *rule);
#endif
