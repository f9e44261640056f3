// Package browsertest starts headless Chromium for the browser tests of the
// HTML report, the console and the dashboard: Debian's chromium, found on
// PATH; under CI (CI set) a missing browser fails the test, since .ci/run
// installs it.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// Chromium returns the path of the browser, skipping the test outside CI
// when there is none.
func Chromium(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is not installed; .ci/run installs Debian's chromium")
	}
	t.Skip("chromium is not installed (apt-get install chromium); CI runs this test")
	return ""
}

// Browser is one headless Chromium with one tab.
type Browser struct {
	// Ctx is the tab's context, for chromedp.Run.
	Ctx context.Context
	// Downloads is the directory downloads are saved to.
	Downloads string

	mu       sync.Mutex
	problems []string
	strict   bool // see Strict
}

// New starts headless Chromium for the test, with a window of width×height,
// closed at the test's end; the tab's context ends after timeout.
func New(t testing.TB, width, height int, timeout time.Duration) *Browser {
	t.Helper()
	exe := Chromium(t)
	dir := t.TempDir()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(filepath.Join(dir, "profile")),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(width, height),
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc()
		cancel()
	})
	b := &Browser{Ctx: bctx, Downloads: filepath.Join(dir, "downloads")}
	if err := os.MkdirAll(b.Downloads, 0o755); err != nil {
		t.Fatal(err)
	}
	err := chromedp.Listen(bctx, func(ev any) {
		b.mu.Lock()
		defer b.mu.Unlock()
		switch e := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.ConsoleAPICalledTypeError || b.strict && e.Type == runtime.ConsoleAPICalledTypeWarning {
				var args []string
				for _, a := range e.Args {
					args = append(args, string(a.Value)+a.Description)
				}
				b.problems = append(b.problems, "console "+string(e.Type)+": "+strings.Join(args, " "))
			}
		case *runtime.EventExceptionThrown:
			b.problems = append(b.problems, "exception: "+e.ExceptionDetails.Text)
		case *log.EventEntryAdded:
			if b.strict && e.Entry.Level == log.EntryLevelError {
				b.problems = append(b.problems, "log: "+e.Entry.Text+" "+e.Entry.URL)
			}
		}
	})
	if err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	if _, err := chromedp.Call(bctx, runtime.Enable, cdp.Empty{}); err != nil {
		t.Fatalf("enable the runtime: %v", err)
	}
	if _, err := chromedp.CallBrowser(bctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: b.Downloads}); err != nil {
		t.Fatalf("set the download directory: %v", err)
	}
	return b
}

// Strict makes console warnings and the browser's own error log (a
// resource that failed to load, a fetch a Content-Security-Policy blocked)
// problems too, for pages that must load cleanly and self-contained.
func (b *Browser) Strict(t testing.TB) {
	t.Helper()
	b.mu.Lock()
	b.strict = true
	b.mu.Unlock()
	if _, err := chromedp.Call(b.Ctx, log.Enable, cdp.Empty{}); err != nil {
		t.Fatalf("enable the log: %v", err)
	}
}

// Do runs actions in the tab, failing the test with what on an error.
func (b *Browser) Do(t testing.TB, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(b.Ctx, actions...); err != nil {
		t.Fatalf("%s: %v (page problems: %q)", what, err, b.Problems())
	}
}

// WaitFor polls a JavaScript expression in the page until it is truthy,
// for at most d, failing the test with what when it does not become so.
func (b *Browser) WaitFor(t testing.TB, what, expr string, d time.Duration) {
	t.Helper()
	if _, err := chromedp.Run(b.Ctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(d), chromedp.WithPollingInterval(20*time.Millisecond))); err != nil {
		t.Fatalf("waiting for %s: %v (page problems: %q)", what, err, b.Problems())
	}
}

// Problems returns the console errors and exceptions the pages raised.
func (b *Browser) Problems() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.problems...)
}

// Screenshot saves a full-page PNG (quality 100 is PNG) to path when path is not "".
func (b *Browser) Screenshot(t testing.TB, path string) {
	t.Helper()
	if path == "" {
		return
	}
	img, err := chromedp.Run(b.Ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(path, img, 0o644); err != nil {
		t.Fatal(err)
	}
}
