package emulator

import (
	"testing"

	"github.com/shadowload/shadowload/emulator/internal/broker"
	"github.com/shadowload/shadowload/internal/policy"
)

// TestReceiveCheckDoesNotAllocate checks that the iot:Receive check made at
// every delivery allocates nothing once the connection's policy set is
// loaded.
func TestReceiveCheckDoesNotAllocate(t *testing.T) {
	e := startEmulator(t, nil)
	id := provision(t, e, "thing-a", "thing", perThingPolicy)
	side := &awsSide{reg: e.Registry()}
	c := &broker.Client{ID: "thing-a", State: &connState{certID: id.certID, pctx: policy.Context{ClientID: "thing-a", ThingName: "thing-a"}}}
	const own, other = "$aws/things/thing-a/shadow/update/accepted", "$aws/things/thing-b/shadow/update/accepted"
	if !side.AllowReceive(c, own) || side.AllowReceive(c, other) {
		t.Fatal("per-thing policy: own topic must be received, another thing's not")
	}
	if n := testing.AllocsPerRun(1000, func() { side.AllowReceive(c, own) }); n != 0 {
		t.Fatalf("AllowReceive allocates %.1f times per call", n)
	}
}
