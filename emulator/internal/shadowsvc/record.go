package shadowsvc

import (
	"encoding/binary"
	"fmt"
)

// appendShadowRecord appends the log record of one shadow's state: its
// thing and shadow names, length-prefixed, then its shadow.MarshalBinary
// form.
func appendShadowRecord(b []byte, k key, blob []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(k.thing)))
	b = append(b, k.thing...)
	b = binary.AppendUvarint(b, uint64(len(k.name)))
	b = append(b, k.name...)
	return append(b, blob...)
}

// decodeShadowRecord splits a record made by appendShadowRecord. The blob
// aliases p.
func decodeShadowRecord(p []byte) (key, []byte, error) {
	d := decoder{b: p}
	thing, err := d.bytes("thing name")
	if err != nil {
		return key{}, nil, err
	}
	name, err := d.bytes("shadow name")
	if err != nil {
		return key{}, nil, err
	}
	if len(thing) == 0 {
		return key{}, nil, fmt.Errorf("shadow record with an empty thing name")
	}
	return key{thing: string(thing), name: string(name)}, p[d.off:], nil
}
