/* mailbox: the writers local delivery runs in the helper's child, already as the recipient
 * (helper.h). content is the message (CRLF lines, Return-Path: and Delivered-To: first); it
 * is read from offset 0 with pread, converted to LF lines.
 *   MAILDIR  HOME/target: tmp/ then new/ (created 0700 when missing), name
 *            "SECONDS.M<usec>P<pid>Q<id>.HOST,S=SIZE" (Maildir++), fsync of file and new/
 *            before rename into new/: the mail is durable before 2.0.0 is reported.
 *   MBOX     target/USER: dotlock (USER.lock, O_EXCL, stale after 10 min) and fcntl lock,
 *            "From SENDER DATE" line, body lines starting with "From " quoted as ">From ",
 *            a blank line after the message; on any write error the file is truncated back
 *            to its old size.
 *   FILE     target, appended as MBOX (fcntl lock only).
 *   PIPE     /bin/sh -c target with the message on stdin (LF lines), in the home, the user's
 *            environment (HOME, USER, LOGNAME, SHELL, PATH, SENDER, RECIPIENT unset); killed
 *            (process group) after timeout_ms: 4.3.0; exit 0: delivered, 75 (EX_TEMPFAIL):
 *            4.3.0 retried, any other status: 5.3.0 bounce.
 * Errors: ENOSPC/EDQUOT 4.2.2 (retried: a full disk never loses mail), the size limit 5.2.2,
 * others 4.3.0 with the reason. sockfd is closed before a command runs. */
#ifndef SLUICE_LOCAL_MAILBOX_H
#define SLUICE_LOCAL_MAILBOX_H
#include <stddef.h>

#include "local/helper.h"
#include "proto/reply.h"

enum outcome mailbox_deliver(const struct helper_req *req, const char *home, int content,
                             int sockfd, char *text, size_t textlen);
#endif
