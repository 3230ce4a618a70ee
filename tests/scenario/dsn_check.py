"""dsn_check.py FILE ACTION RCPT [FIELD=VALUE-REGEX ...]: parses an smtp-sink dump (or a
plain message) with Python's email package and checks that it is a valid RFC 3464
multipart/report: report-type delivery-status, a text/plain part, a message/delivery-status
part whose recipient block for RCPT has Action ACTION and whose fields match the given
regexes, and (when present) a message/rfc822 or text/rfc822-headers third part. Exit 1 with
a message on the first mismatch."""
import email, email.policy, re, sys

def fail(msg):
    sys.exit("dsn_check: " + msg)

path, action, rcpt = sys.argv[1:4]
want = [a.split("=", 1) for a in sys.argv[4:]]
raw = open(path, "rb").read()
# smtp-sink prepends X-* envelope lines; they parse as ordinary header fields.
msg = email.message_from_bytes(raw, policy=email.policy.compat32)
if msg.get_content_type() != "multipart/report":
    fail(f"content type: got {msg.get_content_type()}, want multipart/report")
if msg.get_param("report-type") != "delivery-status":
    fail(f"report-type: got {msg.get_param('report-type')}, want delivery-status")
parts = msg.get_payload()
if len(parts) < 2:
    fail(f"parts: got {len(parts)}, want at least 2")
if parts[0].get_content_type() != "text/plain":
    fail(f"part 1: got {parts[0].get_content_type()}, want text/plain")
if parts[1].get_content_type() != "message/delivery-status":
    fail(f"part 2: got {parts[1].get_content_type()}, want message/delivery-status")
blocks = parts[1].get_payload()  # list of Message: per-message block then per-recipient ones
if len(blocks) < 2:
    fail(f"delivery-status blocks: got {len(blocks)}, want at least 2")
permsg = blocks[0]
for f in ("Reporting-MTA", "Arrival-Date"):
    if not permsg.get(f):
        fail(f"per-message field {f} missing")
block = None
for b in blocks[1:]:
    fr = (b.get("Final-Recipient") or "").split(";", 1)
    if len(fr) == 2 and fr[1].strip().lower() == rcpt.lower():
        block = b
if block is None:
    fail(f"no recipient block for {rcpt}")
if (block.get("Action") or "").strip() != action:
    fail(f"Action: got {block.get('Action')}, want {action}")
for field, rx in want:
    v = re.sub(r"\s+", " ", block.get(field) or permsg.get(field) or "")
    if not re.search(rx, v):
        fail(f"{field}: got {v!r}, want /{rx}/")
if len(parts) >= 3 and parts[2].get_content_type() not in ("message/rfc822", "text/rfc822-headers"):
    fail(f"part 3: got {parts[2].get_content_type()}")
print("ok", len(parts), "parts")
