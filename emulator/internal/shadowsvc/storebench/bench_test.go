package storebench

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	bolt "go.etcd.io/bbolt"

	"github.com/shadowload/shadowload/emulator/internal/shadowsvc/wal"
)

const (
	things    = 2000
	valueSize = 350 // a steady-fleet shadow's MarshalBinary size, roughly
	writers   = 64  // concurrent writers: in-flight updates across the fleet
)

// store is one candidate: put returns once the write is durable.
type store interface {
	put(key, value []byte) error
	close() error
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func run(b *testing.B, s store) {
	defer s.close()
	keys := make([][]byte, things)
	for i := range keys {
		keys[i] = fmt.Appendf(nil, "thing-%05d/", i)
	}
	value := make([]byte, valueSize)
	for i := range value {
		value[i] = byte(i)
	}
	var mu sync.Mutex
	var lat []time.Duration
	b.SetParallelism(max(1, writers/runtime.GOMAXPROCS(0)))
	cpu0 := cpuTime()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		r := rand.New(rand.NewPCG(rand.Uint64(), 1))
		var mine []time.Duration
		for pb.Next() {
			t0 := time.Now()
			if err := s.put(keys[r.IntN(things)], value); err != nil {
				b.Error(err)
				return
			}
			mine = append(mine, time.Since(t0))
		}
		mu.Lock()
		lat = append(lat, mine...)
		mu.Unlock()
	})
	b.StopTimer()
	cpu := cpuTime() - cpu0
	slices.Sort(lat)
	if len(lat) > 0 {
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
	}
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/op")
}

// walStore is the service's own log: key and value in one record.
type walStore struct{ l *wal.Log }

func (w walStore) put(k, v []byte) error {
	rec := make([]byte, 0, len(k)+len(v))
	rec = append(append(rec, k...), v...)
	return w.l.Append(rec).Wait()
}
func (w walStore) close() error { return w.l.Close() }

func BenchmarkWAL(b *testing.B) {
	l, _, err := wal.Open(b.TempDir(), wal.Options{}, func([]byte) error { return nil })
	if err != nil {
		b.Fatal(err)
	}
	run(b, walStore{l})
}

// quiet drops pebble's informational logs.
type quiet struct{}

func (quiet) Infof(string, ...any)      {}
func (quiet) Errorf(f string, a ...any) { fmt.Printf(f+"\n", a...) }
func (quiet) Fatalf(f string, a ...any) { panic(fmt.Sprintf(f, a...)) }

type pebbleStore struct{ db *pebble.DB }

func (p pebbleStore) put(k, v []byte) error { return p.db.Set(k, v, pebble.Sync) }
func (p pebbleStore) close() error          { return p.db.Close() }

func BenchmarkPebbleSync(b *testing.B) {
	db, err := pebble.Open(b.TempDir(), &pebble.Options{Logger: quiet{}})
	if err != nil {
		b.Fatal(err)
	}
	run(b, pebbleStore{db})
}

type boltStore struct{ db *bolt.DB }

var bucket = []byte("shadows")

func (s boltStore) put(k, v []byte) error {
	return s.db.Batch(func(tx *bolt.Tx) error { return tx.Bucket(bucket).Put(k, v) })
}
func (s boltStore) close() error { return s.db.Close() }

func benchmarkBolt(b *testing.B, delay time.Duration) {
	db, err := bolt.Open(b.TempDir()+"/db", 0o644, nil)
	if err != nil {
		b.Fatal(err)
	}
	if delay > 0 {
		db.MaxBatchDelay = delay
	}
	if err := db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucketIfNotExists(bucket); return err }); err != nil {
		b.Fatal(err)
	}
	run(b, boltStore{db})
}

// BenchmarkBoltBatch uses bbolt's default batch delay (10 ms).
func BenchmarkBoltBatch(b *testing.B) { benchmarkBolt(b, 0) }

// BenchmarkBoltBatch1ms shortens the batch delay to 1 ms.
func BenchmarkBoltBatch1ms(b *testing.B) { benchmarkBolt(b, time.Millisecond) }
