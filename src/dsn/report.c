/* report: the rules of report.h. */
#include "dsn/report.h"

#include "dsn/dsn.h"
#include "queue/record.h"

/* NOTIFY=NEVER: nothing; none given: failures and delays; else the bits listed. */
bool report_wanted(uint8_t notify, uint8_t bit)
{
    if (notify & NOTIFY_NEVER)
        return false;
    if (notify == 0)
        return bit == NOTIFY_FAILURE || bit == NOTIFY_DELAY;
    return (notify & bit) != 0;
}

/* Recovery: a failed recipient owes "failed", a delivered one "relayed" when it asked for
 * success notices; unless the report went out already (RCPT_F_REPORTED). */
uint8_t report_owed_final(uint8_t state, uint8_t notify, uint8_t flags)
{
    if (flags & RCPT_F_REPORTED)
        return 0;
    if (state == RCPT_FAILED && report_wanted(notify, NOTIFY_FAILURE))
        return DSN_FAILED + 1;
    if (state == RCPT_DELIVERED && report_wanted(notify, NOTIFY_SUCCESS))
        return DSN_RELAYED + 1;
    return 0;
}
