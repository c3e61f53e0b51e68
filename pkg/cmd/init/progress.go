package initcmd

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// progress writes the steps to stderr: a mark, the message and the time since the start. On a
// terminal, waits show a spinner and marks are coloured (unless NO_COLOR is set); elsewhere (pipes,
// CI logs) every line is plain text and a wait is one line when it starts and one when it ends.
type progress struct {
	w     io.Writer
	tty   bool
	color bool
	now   func() time.Time
	start time.Time

	mu     sync.Mutex
	waited time.Duration
}

const (
	markOK   = "✓"
	markWarn = "!"
	markFail = "✗"
	markWait = "…"
	markInfo = "•"
)

var spinnerFrames = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

func newProgress(w io.Writer, tty, color bool, now func() time.Time) *progress {
	if w == nil {
		w = io.Discard
	}
	return &progress{w: w, tty: tty, color: color && tty, now: now, start: now()}
}

func (p *progress) elapsed() time.Duration { return p.now().Sub(p.start) }

func (p *progress) paint(code, s string) string {
	if !p.color {
		return s
	}
	return "\033[" + code + "m" + s + "\033[0m"
}

func (p *progress) line(mark, code, format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, "%s %s %s\n", p.paint(code, mark), fmt.Sprintf(format, args...), p.paint("2", "["+fmtDuration(p.elapsed())+"]"))
}

func (p *progress) ok(format string, args ...any)   { p.line(markOK, "32", format, args...) }
func (p *progress) info(format string, args ...any) { p.line(markInfo, "36", format, args...) }
func (p *progress) warn(format string, args ...any) { p.line(markWarn, "33", format, args...) }
func (p *progress) fail(format string, args ...any) { p.line(markFail, "31", format, args...) }

// wait runs fn until it returns, showing what is awaited and the last status fn reported; the time
// spent is added to waited (the part of init's wall time that is KGO's, not ours).
func (p *progress) wait(ctx context.Context, what string, fn func(ctx context.Context, status func(string)) error) error {
	began := p.now()
	defer func() {
		p.mu.Lock()
		p.waited += p.now().Sub(began)
		p.mu.Unlock()
	}()
	if !p.tty {
		p.line(markWait, "", "waiting for %s", what)
		return fn(ctx, func(string) {})
	}
	var (
		mu     sync.Mutex
		status string
	)
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for i := 0; ; i++ {
			mu.Lock()
			s := status
			mu.Unlock()
			msg := fmt.Sprintf("%s waiting for %s (%s", p.paint("36", spinnerFrames[i%len(spinnerFrames)]), what, fmtDuration(p.now().Sub(began)))
			if s != "" {
				msg += ": " + s
			}
			msg += ")"
			p.mu.Lock()
			fmt.Fprintf(p.w, "\r\033[K%s", msg)
			p.mu.Unlock()
			select {
			case <-done:
				p.mu.Lock()
				fmt.Fprint(p.w, "\r\033[K")
				p.mu.Unlock()
				return
			case <-t.C:
			}
		}
	}()
	err := fn(ctx, func(s string) {
		mu.Lock()
		status = s
		mu.Unlock()
	})
	close(done)
	<-stopped
	return err
}

func (p *progress) waitedTotal() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.waited
}

func fmtDuration(d time.Duration) string {
	switch {
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", d.Seconds())
	}
	return d.Round(time.Second).String()
}

// indent prefixes every line of s but the first.
func indent(s, prefix string) string { return strings.ReplaceAll(s, "\n", "\n"+prefix) }
