#!/bin/bash
# Sign counters: a key whose counter goes back (a restored or cloned key)
# is refused, and its credential is marked suspicious and stays refused.
. "$(dirname "$0")/../../lib/tap.sh"
. "$(dirname "$0")/../../lib/gate.sh"

agent_start
enrol alice --label token > /dev/null 2>&1
pam_auth alice < /dev/null
ok $? "a first login"
cp "$T/key" "$T/key.old"
pam_auth alice < /dev/null
ok $? "a second login"
pam_auth alice < /dev/null
ok $? "a third login"
stored=$(ctl --json list alice | sed -n 's/.*"sign_count": \([0-9]*\).*/\1/p')
[ "$stored" -gt 0 ]
ok $? "the agent stored the key's counter ($stored)"

cp "$T/key.old" "$T/key"
pam_auth alice < /dev/null
ok $((! $?)) "counter_regression_is_refused"
audit_has "credential.suspicious +alice +deny .*counter_regression"
ok $? "the regression is audited"
like "$(ctl list alice)" "SUSPECT" "the credential is marked suspicious"
like "$(ctl --json list alice)" '"suspicious": true' "and says so in JSON"

# each attempt moves the restored key's counter on: by the last it is past
# the stored one
for i in 1 2 3; do
	pam_auth alice < /dev/null
	ok $((! $?)) "a suspicious credential stays refused (attempt $i of 3, even once its counter is past the stored one)"
done

done_testing
