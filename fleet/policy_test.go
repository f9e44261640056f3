package fleet

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestDefaultPoliciesAreValidAWSDocuments(t *testing.T) {
	for name, doc := range map[string]string{"thing": DefaultThingPolicy, "observer": DefaultObserverPolicy} {
		if err := checkPolicyDocument(doc); err != nil {
			t.Errorf("%s policy: %v", name, err)
		}
	}
}

// policyGrants returns action -> resources of a policy's Allow statements.
func policyGrants(t *testing.T, doc string) map[string][]string {
	t.Helper()
	var p struct {
		Statement []struct {
			Effect   string
			Action   json.RawMessage
			Resource json.RawMessage
		}
	}
	if err := json.Unmarshal([]byte(doc), &p); err != nil {
		t.Fatal(err)
	}
	grants := map[string][]string{}
	for _, s := range p.Statement {
		if s.Effect != "Allow" {
			continue
		}
		actions, err := stringOrList(s.Action)
		if err != nil {
			t.Fatal(err)
		}
		resources, err := stringOrList(s.Resource)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range actions {
			grants[a] = append(grants[a], resources...)
		}
	}
	return grants
}

func TestDefaultThingPolicyIsLeastPrivilege(t *testing.T) {
	const self = "${iot:Connection.Thing.ThingName}"
	want := map[string][]string{
		"iot:Connect":   {"arn:aws:iot:*:*:client/" + self},
		"iot:Publish":   {"arn:aws:iot:*:*:topic/$aws/things/" + self + "/shadow/*"},
		"iot:Subscribe": {"arn:aws:iot:*:*:topicfilter/$aws/things/" + self + "/shadow/*"},
		"iot:Receive":   {"arn:aws:iot:*:*:topic/$aws/things/" + self + "/shadow/*"},
	}
	got := policyGrants(t, DefaultThingPolicy)
	if len(got) != len(want) {
		t.Fatalf("grants %v, want %v", got, want)
	}
	for action, res := range want {
		if strings.Join(got[action], " ") != strings.Join(res, " ") {
			t.Errorf("%s on %v, want %v", action, got[action], res)
		}
	}
}

func TestDefaultObserverPolicyGrantsWildcards(t *testing.T) {
	got := policyGrants(t, DefaultObserverPolicy)
	want := map[string][]string{
		"iot:Connect": {"arn:aws:iot:*:*:client/${iot:ClientId}"},
		"iot:Subscribe": {
			"arn:aws:iot:*:*:topicfilter/$aws/things/+/shadow/*",
			"arn:aws:iot:*:*:topicfilter/#",
			"arn:aws:iot:*:*:topicfilter/$aws/things/*",
		},
		"iot:Receive": {"arn:aws:iot:*:*:topic/*"},
		"iot:Publish": {"arn:aws:iot:*:*:topic/$aws/things/*/shadow/*"},
	}
	if len(got) != len(want) {
		t.Fatalf("grants %v, want %v", got, want)
	}
	for action, res := range want {
		if strings.Join(got[action], " ") != strings.Join(res, " ") {
			t.Errorf("%s on %v, want %v", action, got[action], res)
		}
	}
}
