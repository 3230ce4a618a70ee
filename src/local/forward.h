/* forward: reads a user's ~/.forward in the helper's child, already switched to that user
 * (helper.h request HELPER_FORWARD), with Postfix local(8)'s safety checks. The file is
 * used only when it is a regular file (not a symbolic link) owned by the user or root, not
 * group or world writable, in a home owned by the user or root that is not group or world
 * writable, and at most FORWARD_MAX bytes. Result (the reply's outcome and text):
 *   OK "forward"           the file's bytes were written to out (a memfd the daemon reads)
 *   OK "none"              no .forward (or no home): deliver to the mailbox
 *   OK "ignored: REASON"   a check failed: deliver to the mailbox, the daemon logs REASON
 *   TEMPFAIL "4.3.0 ..."   an I/O error: retried later. */
#ifndef SLUICE_LOCAL_FORWARD_H
#define SLUICE_LOCAL_FORWARD_H
#include <stddef.h>
#include <sys/types.h>

#include "proto/reply.h"

#define FORWARD_MAX 65536

enum outcome forward_read(const char *home, uid_t uid, int out, char *text, size_t textlen);
#endif
