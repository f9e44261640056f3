package policy

import (
	"fmt"
	"strings"
)

// Action is an AWS IoT Core policy action that the emulator checks.
type Action uint8

// The actions a policy can grant or deny.
const (
	// Connect is iot:Connect, checked at every CONNECT on client/CLIENTID.
	Connect Action = iota + 1
	// Publish is iot:Publish, checked at every PUBLISH on topic/TOPIC.
	Publish
	// Subscribe is iot:Subscribe, checked per filter on topicfilter/FILTER.
	Subscribe
	// Receive is iot:Receive, checked at every delivery on topic/TOPIC.
	Receive
	// RetainPublish is iot:RetainPublish, checked for RETAIN publishes on topic/TOPIC.
	RetainPublish
	// GetThingShadow is iot:GetThingShadow (REST shadow API) on thing/THING.
	GetThingShadow
	// UpdateThingShadow is iot:UpdateThingShadow (REST shadow API) on thing/THING.
	UpdateThingShadow
	// DeleteThingShadow is iot:DeleteThingShadow (REST shadow API) on thing/THING.
	DeleteThingShadow

	lastAction = DeleteThingShadow
)

// actionNames holds the IAM spelling of each action, indexed by Action.
var actionNames = [...]string{
	Connect:           "iot:Connect",
	Publish:           "iot:Publish",
	Subscribe:         "iot:Subscribe",
	Receive:           "iot:Receive",
	RetainPublish:     "iot:RetainPublish",
	GetThingShadow:    "iot:GetThingShadow",
	UpdateThingShadow: "iot:UpdateThingShadow",
	DeleteThingShadow: "iot:DeleteThingShadow",
}

// resourceTypes holds the ARN resource type, with its separators, that each
// action is checked against.
var resourceTypes = [...]string{
	Connect:           ":client/",
	Publish:           ":topic/",
	Subscribe:         ":topicfilter/",
	Receive:           ":topic/",
	RetainPublish:     ":topic/",
	GetThingShadow:    ":thing/",
	UpdateThingShadow: ":thing/",
	DeleteThingShadow: ":thing/",
}

// String returns the IAM name of the action, such as "iot:Publish".
func (a Action) String() string {
	if a.valid() {
		return actionNames[a]
	}
	return fmt.Sprintf("Action(%d)", uint8(a))
}

func (a Action) valid() bool { return a >= Connect && a <= lastAction }

// ParseAction returns the action named name, compared case-insensitively as
// IAM does ("iot:publish" is Publish). Wildcards are not accepted here.
func ParseAction(name string) (Action, error) {
	for a := Connect; a <= lastAction; a++ {
		if strings.EqualFold(actionNames[a], name) {
			return a, nil
		}
	}
	return 0, fmt.Errorf("action %q: want one of %s", name, strings.Join(actionNames[Connect:], ", "))
}

// actionMask is a set of actions, bit a set for Action a.
type actionMask uint16

const allActions actionMask = (1<<(lastAction+1) - 1) &^ 1

func (m actionMask) has(a Action) bool { return m&(1<<a) != 0 }

// compileAction returns the known actions that the IAM action pattern
// matches, case-insensitively, with `*` and `?` as wildcards. A well-formed
// action of another service or an iot action this package does not check
// matches nothing.
func compileAction(s string) (actionMask, error) {
	if s == "" {
		return 0, fmt.Errorf("want an action such as \"iot:Publish\", got an empty string")
	}
	if s != "*" {
		prefix, name, ok := strings.Cut(s, ":")
		if !ok || prefix == "" || name == "" {
			return 0, fmt.Errorf("want \"*\" or SERVICE:ACTION such as \"iot:Publish\", got %q", s)
		}
	}
	p, err := compilePattern(strings.ToLower(s), patternOptions{glob: true})
	if err != nil {
		return 0, err
	}
	var m actionMask
	for a := Connect; a <= lastAction; a++ {
		var sub subject
		sub.add(strings.ToLower(actionNames[a]))
		if p.match(&sub, nil) {
			m |= 1 << a
		}
	}
	return m, nil
}
