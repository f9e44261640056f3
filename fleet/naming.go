package fleet

import (
	"errors"
	"fmt"
)

// Naming is what every provisioner (Provision here, the AWS one in
// fleet/awsiot) is asked to name and authorise: how many identities from
// which index, under which name pattern, into which bundles directory, with
// which policy, as devices or observers.
type Naming struct {
	Things, FirstIndex int
	OutDir             string
	NamePattern        string
	PolicyName, Policy string
	Observer           bool
}

// Resolve checks n (at least one thing, a first index of 0 or more, a
// bundles directory, a name pattern that names every index validly and
// distinctly), fills in the defaults for devices or observers (pattern,
// policy name, policy document) and returns the names in index order.
func (n *Naming) Resolve() ([]string, error) {
	if n.Things < 1 {
		return nil, fmt.Errorf("things: %d, want at least 1", n.Things)
	}
	if n.FirstIndex < 0 {
		return nil, fmt.Errorf("first index (FirstIndex) %d, want 0 or more", n.FirstIndex)
	}
	if n.OutDir == "" {
		return nil, errors.New("no bundles directory (OutDir)")
	}
	if n.NamePattern == "" {
		n.NamePattern = DefaultThingPattern
		if n.Observer {
			n.NamePattern = DefaultObserverPattern
		}
	}
	if n.PolicyName == "" {
		n.PolicyName = DefaultThingPolicyName
		if n.Observer {
			n.PolicyName = DefaultObserverPolicyName
		}
	}
	if n.Policy == "" {
		n.Policy = DefaultThingPolicy
		if n.Observer {
			n.Policy = DefaultObserverPolicy
		}
	}
	pat, err := ParseNamePattern(n.NamePattern)
	if err != nil {
		return nil, err
	}
	if err := pat.Check(n.FirstIndex, n.Things); err != nil {
		return nil, err
	}
	names := make([]string, n.Things)
	seen := make(map[string]int, n.Things)
	for k := range names {
		i := n.FirstIndex + k
		name := pat.Name(i)
		if j, dup := seen[name]; dup {
			return nil, fmt.Errorf("name pattern %q gives %q for indexes %d and %d", n.NamePattern, name, j, i)
		}
		seen[name] = i
		names[k] = name
	}
	return names, nil
}
