package main

import (
	"fmt"
	"strings"

	"github.com/shadowload/shadowload/fleet"
)

func runPolicy(e *env, args []string) error {
	fs := newFlagSet(e, "policy",
		"shadowload policy [--observer]",
		`Print the AWS IoT policy "shadowload provision" attaches to every certificate
it makes, to read, review or adapt (provision --policy FILE takes it back).

The thing policy (default) is least privilege: connect only with the own thing
name as client ID; publish, subscribe and receive only on the own shadow
topics, classic and named. The observer policy (--observer) is the
application side's: connect with any client ID, subscribe to the wildcard
filters $aws/things/+/shadow/... and #, receive any topic, and publish to any
thing's shadow topics.`,
		`  shadowload policy > thing-policy.json
  shadowload policy --observer`)
	observer := fs.Bool("observer", false, "print the observer policy instead of the thing policy")
	if err := fs.parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("policy: unexpected argument %q", fs.Arg(0))
	}
	doc := fleet.DefaultThingPolicy
	if *observer {
		doc = fleet.DefaultObserverPolicy
	}
	fmt.Fprint(e.stdout, doc)
	if !strings.HasSuffix(doc, "\n") {
		fmt.Fprintln(e.stdout)
	}
	return nil
}
