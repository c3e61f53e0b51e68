// Command webhook-rss measures the resident memory of a fresh process that
// serves kubectl-konnect's admission webhook over TLS with n cached
// objects: it fills a rules.Store with the realistic cluster of
// hack/webhook-rss/fixture (one object at a time, as informer events
// would), starts the controller-runtime webhook server with
// webhook.Validator as cmd/webhook does, sends requests over keep-alive
// connections, runs the garbage collector and reads /proc/self/status.
//
//	go run ./hack/webhook-rss -objects 10000 [-lookup store|informer]
//
// The last line is machine-readable (BenchmarkWebhookRSS in pkg/webhook
// parses it):
//
//	RSS-REPORT objects=10000 rss_kib=... hwm_kib=... anon_kib=... file_kib=... heap_inuse=... heap_alloc=... store_bytes=... rss_after_free_kib=...
package main

import (
	"bytes"
	"encoding/base64"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"sync"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/kubectl-konnect/kubectl-konnect/hack/webhook-rss/fixture"
	"github.com/kubectl-konnect/kubectl-konnect/pkg/rules"
	"github.com/kubectl-konnect/kubectl-konnect/pkg/webhook"
)

func main() {
	// controller-runtime logs through its global logger; without one it
	// prints a warning with a stack trace after 30 s.
	ctrllog.SetLogger(logr.Discard())
	objects := flag.Int("objects", 10_000, "cached objects")
	requests := flag.Int("requests", 500, "admission requests to serve before measuring")
	clients := flag.Int("clients", 4, "concurrent keep-alive clients")
	kind := flag.String("lookup", "store", "what holds the objects: store (rules.Store, as lint does), informer (pkg/webhook.Cache, as the webhook does: compact objects in client-go informers) or admit-all (no objects, no rules: a webhook that admits everything, the floor)")
	memProfile = flag.String("memprofile", "", "write a heap profile (in-use after GC) to this file after measuring")
	serve := flag.Bool("serve", false, "serve until stdin closes instead of measuring: print \"SERVE url=<url> ca=<base64 CA PEM>\" once ready (for BenchmarkWebhookTLSInterleaved)")
	gcPercent := flag.Int("gc-percent", webhook.DefaultGCPercent, "as cmd/webhook's --gc-percent (default unless GOGC is set)")
	flag.Parse()
	gcFlagGiven := false
	flag.Visit(func(f *flag.Flag) { gcFlagGiven = gcFlagGiven || f.Name == "gc-percent" })
	// As cmd/webhook.
	webhook.SetGCPercent(*gcPercent, gcFlagGiven)
	run := measure
	if *serve {
		run = serveUntilEOF
	}
	if err := run(*objects, *requests, *clients, *kind); err != nil {
		fmt.Fprintln(os.Stderr, "webhook-rss:", err)
		os.Exit(1)
	}
}

var memProfile *string

// lookup is a rules.Lookup that counts its objects.
type lookup interface {
	rules.Lookup
	Len() int
}

func newLookup(objects int, kind string) (lookup, error) {
	switch kind {
	case "store":
		return fixture.NewStore(objects), nil
	case "informer":
		return fixture.NewInformerLookup(objects)
	case "admit-all":
		return fixture.NewStore(0), nil
	}
	return nil, fmt.Errorf("-lookup %q: want store, informer or admit-all", kind)
}

// serveUntilEOF serves admission requests with the cluster in a fresh
// process (its own heap and garbage collector, as a real webhook of that
// size) until stdin closes.
func serveUntilEOF(objects, _, clients int, kind string) error {
	store, err := newLookup(objects, kind)
	if err != nil {
		return err
	}
	runtime.GC()
	dir, err := os.MkdirTemp("", "webhook-rss-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	start := fixture.StartServer
	if kind == "admit-all" {
		start = func(_ rules.Lookup, dir string, clients int) (*fixture.Server, error) {
			return fixture.StartAdmitAll(dir, clients)
		}
	}
	srv, err := start(store, dir, clients)
	if err != nil {
		return err
	}
	defer srv.Stop()
	fmt.Printf("SERVE url=%s ca=%s\n", srv.URL, base64.StdEncoding.EncodeToString(srv.CAPEM))
	_, err = io.Copy(io.Discard, os.Stdin)
	runtime.KeepAlive(store)
	return err
}

func measure(objects, requests, clients int, kind string) error {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	store, err := newLookup(objects, kind)
	if err != nil {
		return err
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	storeBytes := int64(after.HeapAlloc) - int64(before.HeapAlloc)

	dir, err := os.MkdirTemp("", "webhook-rss-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	srv, err := fixture.StartServer(store, dir, clients)
	if err != nil {
		return err
	}
	defer srv.Stop()
	reviews := fixture.Reviews()
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf bytes.Buffer
			for i := c; i < requests; i += clients {
				if err := srv.Post(reviews[i%len(reviews)].Body, &buf); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}

	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	st, err := procStatus()
	if err != nil {
		return err
	}
	if *memProfile != "" {
		if err := writeHeapProfile(*memProfile); err != nil {
			return err
		}
	}
	// What the runtime keeps mapped but idle after a collection is
	// returned to the OS over minutes by the scavenger; FreeOSMemory
	// returns it now, to show how much of the RSS it is.
	debug.FreeOSMemory()
	st2, err := procStatus()
	if err != nil {
		return err
	}
	perObject := "-"
	if objects > 0 {
		perObject = fmt.Sprintf("%.0f", float64(storeBytes)/float64(objects))
	}
	fmt.Printf("lookup=%s objects=%d: VmRSS %.1f MiB (anon %.1f, file %.1f), peak %.1f MiB; Go heap in use %.1f MiB (live %.1f MiB, store %s B/object); after FreeOSMemory %.1f MiB\n",
		kind, store.Len(), st["VmRSS"]/1024, st["RssAnon"]/1024, st["RssFile"]/1024, st["VmHWM"]/1024,
		float64(ms.HeapInuse)/(1<<20), float64(ms.HeapAlloc)/(1<<20), perObject, st2["VmRSS"]/1024)
	fmt.Printf("RSS-REPORT objects=%d rss_kib=%.0f hwm_kib=%.0f anon_kib=%.0f file_kib=%.0f heap_inuse=%d heap_alloc=%d store_bytes=%d rss_after_free_kib=%.0f\n",
		store.Len(), st["VmRSS"], st["VmHWM"], st["RssAnon"], st["RssFile"], ms.HeapInuse, ms.HeapAlloc, storeBytes, st2["VmRSS"])
	runtime.KeepAlive(store)
	return nil
}

// writeHeapProfile writes the in-use heap (after the last GC) for
// `go tool pprof -sample_index=inuse_space`.
func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return pprof.Lookup("heap").WriteTo(f, 0)
}

// procStatus reads the kB fields of /proc/self/status.
func procStatus() (map[string]float64, error) {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return nil, fmt.Errorf("reading /proc/self/status (Linux only): %w", err)
	}
	out := map[string]float64{}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) == 3 && f[2] == "kB" {
			var v float64
			if _, err := fmt.Sscan(f[1], &v); err == nil {
				out[strings.TrimSuffix(f[0], ":")] = v
			}
		}
	}
	return out, nil
}
