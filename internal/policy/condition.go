package policy

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"sort"
	"strings"
)

type condOp uint8

const (
	opBool condOp = iota + 1
	opStringEquals
	opStringLike
	opIPAddress
	opNotIPAddress
)

type condKey uint8

const (
	keyIsAttached condKey = iota + 1
	keyClientID
	keyThingName
	keySourceIP
)

// condition is one operator and key of a statement's Condition block; it
// holds when any of its values matches.
type condition struct {
	op       condOp
	key      condKey
	bools    []bool
	values   []pattern
	prefixes []netip.Prefix
}

// isIP reports whether the condition tests aws:SourceIp.
func (cd *condition) isIP() bool { return cd.key == keySourceIP }

var condOps = []struct {
	name string
	op   condOp
	keys []string
}{
	{"Bool", opBool, []string{"iot:Connection.Thing.IsAttached"}},
	{"StringEquals", opStringEquals, []string{"iot:ClientId", "iot:Connection.Thing.ThingName"}},
	{"StringLike", opStringLike, []string{"iot:ClientId", "iot:Connection.Thing.ThingName"}},
	{"IpAddress", opIPAddress, []string{"aws:SourceIp"}},
	{"NotIpAddress", opNotIPAddress, []string{"aws:SourceIp"}},
}

var condKeys = map[string]condKey{
	"iot:connection.thing.isattached": keyIsAttached,
	"iot:clientid":                    keyClientID,
	"iot:connection.thing.thingname":  keyThingName,
	"aws:sourceip":                    keySourceIP,
}

// holds reports whether the condition is true for c. A string key that
// resolves to "" satisfies no StringEquals or StringLike value; an unknown
// source address is in no IpAddress range and so satisfies NotIpAddress,
// as IAM evaluates a key missing from the request.
func (cd *condition) holds(c *Context) bool {
	if cd.op == opIPAddress || cd.op == opNotIPAddress {
		in := false
		if c != nil && c.SourceIP.IsValid() {
			ip := c.SourceIP.Unmap()
			for _, p := range cd.prefixes {
				in = in || p.Contains(ip)
			}
		}
		return in == (cd.op == opIPAddress)
	}
	if cd.op == opBool {
		attached := c.ThingAttached()
		for _, b := range cd.bools {
			if b == attached {
				return true
			}
		}
		return false
	}
	var val string
	switch cd.key {
	case keyClientID:
		if c != nil {
			val = c.ClientID
		}
	case keyThingName:
		if c != nil {
			val = c.ThingName
		}
	}
	if val == "" {
		return false
	}
	var sub subject
	sub.add(val)
	for i := range cd.values {
		if cd.values[i].match(&sub, c) {
			return true
		}
	}
	return false
}

// parseConditions compiles a Condition block found at path. Operators and
// keys are read in sorted order so that the first error is always the same.
func parseConditions(raw json.RawMessage, path string) ([]condition, error) {
	block, err := object(raw, path)
	if err != nil {
		return nil, err
	}
	var out []condition
	for _, opName := range sortedKeys(block) {
		opPath := path + "." + opName
		idx := -1
		for i, o := range condOps {
			if o.name == opName {
				idx = i
			}
		}
		if idx < 0 {
			names := make([]string, len(condOps))
			for i, o := range condOps {
				names[i] = o.name
			}
			return nil, fmt.Errorf("%s: unknown condition operator %q: want one of %s", path, opName, strings.Join(names, ", "))
		}
		op := condOps[idx]
		keys, err := object(block[opName], opPath)
		if err != nil {
			return nil, err
		}
		if len(keys) == 0 {
			return nil, fmt.Errorf("%s: want at least one condition key", opPath)
		}
		for _, keyName := range sortedKeys(keys) {
			keyPath := opPath + "." + keyName
			known := false
			for _, k := range op.keys {
				known = known || strings.EqualFold(k, keyName)
			}
			if !known {
				return nil, fmt.Errorf("%s: unknown condition key %q for %s: want %s", opPath, keyName, op.name, strings.Join(op.keys, " or "))
			}
			cd := condition{op: op.op, key: condKeys[strings.ToLower(keyName)]}
			switch op.op {
			case opBool:
				cd.bools, err = boolValues(keys[keyName], keyPath)
			case opIPAddress, opNotIPAddress:
				cd.prefixes, err = ipPrefixes(keys[keyName], keyPath)
			default:
				cd.values, err = stringPatterns(keys[keyName], keyPath, patternOptions{glob: op.op == opStringLike, vars: true})
			}
			if err != nil {
				return nil, err
			}
			out = append(out, cd)
		}
	}
	return out, nil
}

// boolValues reads a Bool condition value: "true", "false", a JSON boolean,
// or a list of them.
func boolValues(raw json.RawMessage, path string) ([]bool, error) {
	if kindOf(raw) == "boolean" {
		return []bool{string(trimSpace(raw)) == "true"}, nil
	}
	strs, paths, err := stringOrList(raw, path)
	if err != nil {
		return nil, err
	}
	out := make([]bool, len(strs))
	for i, s := range strs {
		switch strings.ToLower(s) {
		case "true":
			out[i] = true
		case "false":
		default:
			return nil, fmt.Errorf("%s: want \"true\" or \"false\", got %q", paths[i], s)
		}
	}
	return out, nil
}

// ipPrefixes reads an IpAddress or NotIpAddress value: addresses or CIDR
// ranges, IPv4 or IPv6, one or a list. A bare address is its own /32 or
// /128.
func ipPrefixes(raw json.RawMessage, path string) ([]netip.Prefix, error) {
	strs, paths, err := stringOrList(raw, path)
	if err != nil {
		return nil, err
	}
	out := make([]netip.Prefix, len(strs))
	for i, s := range strs {
		if strings.Contains(s, "/") {
			p, err := netip.ParsePrefix(s)
			if err != nil {
				return nil, fmt.Errorf("%s: %q is not an IP address or CIDR range", paths[i], s)
			}
			if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
				// Addresses are compared unmapped.
				p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
			}
			out[i] = p.Masked()
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("%s: %q is not an IP address or CIDR range", paths[i], s)
		}
		a = a.Unmap()
		out[i] = netip.PrefixFrom(a, a.BitLen())
	}
	return out, nil
}

func stringPatterns(raw json.RawMessage, path string, o patternOptions) ([]pattern, error) {
	strs, paths, err := stringOrList(raw, path)
	if err != nil {
		return nil, err
	}
	out := make([]pattern, len(strs))
	for i, s := range strs {
		if out[i], err = compilePattern(s, o); err != nil {
			return nil, fmt.Errorf("%s: %w", paths[i], err)
		}
	}
	return out, nil
}

func sortedKeys(m map[string]json.RawMessage) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
