/* report: who owes the envelope sender a delivery report (docs/dsn.md). Pure rules.
 * report_wanted() reads a recipient's NOTIFY (RFC 3461): NEVER wants nothing; no NOTIFY
 * wants failures and delays; otherwise what it lists. report_owed_final() tells, for a final
 * recipient loaded from the queue, which report it still owes (recovery). */
#ifndef SLUICE_REPORT_H
#define SLUICE_REPORT_H
#include <stdbool.h>
#include <stdint.h>

/* True when a recipient with these NOTIFY bits wants reports of kind bit (NOTIFY_*). */
bool report_wanted(uint8_t notify, uint8_t bit);
/* For a final recipient (state RCPT_DELIVERED or RCPT_FAILED): the report still owed, as
 * enum dsn_action + 1 (failed, relayed), or 0 when none is (reported already, or not
 * wanted). Any other state: 0. */
uint8_t report_owed_final(uint8_t state, uint8_t notify, uint8_t flags);
#endif
