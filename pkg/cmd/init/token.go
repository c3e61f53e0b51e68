package initcmd

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// EnvToken is the environment variable init reads the Konnect token from.
const EnvToken = "KONNECT_TOKEN"

// errTokenFlag explains why there is no --token flag.
var errTokenFlag = errors.New("--token is not accepted: a token on the command line is visible to every user of this machine " +
	"(ps, /proc/<pid>/cmdline) and is kept in your shell history. Pass it with KONNECT_TOKEN=... in the environment, " +
	"--token-file FILE, or --token-stdin (e.g. `pass show konnect | kubectl konnect init --token-stdin ...`)")

// tokenFlag is a --token flag that only records that it was used, so Validate can explain why it is
// refused rather than "unknown flag". Its value is dropped at once and never stored: not even in the
// error, which pflag would otherwise print with the value quoted.
type tokenFlag struct{ given bool }

func (f *tokenFlag) String() string { return "" }
func (f *tokenFlag) Set(string) error {
	f.given = true
	return nil
}
func (f *tokenFlag) Type() string { return "string" }

// token is the Konnect token and where it came from. Only the source is ever printed.
type token struct {
	value  string
	source string
}

// readToken reads the token from KONNECT_TOKEN, --token-file or --token-stdin; at most one may be
// given. No source gives a zero token: the caller then looks for the token stored by an earlier run.
func (o *Options) readToken() (token, error) {
	var sources []string
	env := ""
	if o.Getenv != nil {
		env = o.Getenv(EnvToken)
	}
	if env != "" {
		sources = append(sources, EnvToken)
	}
	if o.TokenFile != "" {
		sources = append(sources, "--token-file")
	}
	if o.TokenStdin {
		sources = append(sources, "--token-stdin")
	}
	if len(sources) > 1 {
		return token{}, fmt.Errorf("the token is given by %s: give it one way only", strings.Join(sources, " and "))
	}
	var t token
	switch {
	case env != "":
		t = token{value: env, source: EnvToken}
	case o.TokenFile != "":
		b, err := os.ReadFile(o.TokenFile)
		if err != nil {
			return token{}, fmt.Errorf("--token-file: %w: give a readable file holding the token", err)
		}
		if fi, err := os.Stat(o.TokenFile); err == nil && fi.Mode().Perm()&0o077 != 0 {
			o.warnf("%s is readable by other users (mode %#o): chmod 600 %s", o.TokenFile, fi.Mode().Perm(), o.TokenFile)
		}
		t = token{value: string(b), source: "--token-file " + o.TokenFile}
	case o.TokenStdin:
		if o.In == nil {
			return token{}, errors.New("--token-stdin: there is no standard input")
		}
		if isTerminal(o.In) {
			fmt.Fprintln(o.ErrOut, "Paste the Konnect token, then press Enter and Ctrl-D:")
		}
		b, err := io.ReadAll(io.LimitReader(o.In, 64<<10))
		if err != nil {
			return token{}, fmt.Errorf("--token-stdin: reading standard input: %w", err)
		}
		t = token{value: string(b), source: "standard input"}
	default:
		return token{}, nil
	}
	t.value = strings.TrimSpace(t.value)
	return t, checkToken(t)
}

// checkToken checks the shape KGO's CRD enforces for inline tokens: kpat_ or spat_, no blanks.
func checkToken(t token) error {
	switch {
	case t.value == "":
		return fmt.Errorf("the token from %s is empty", t.source)
	case strings.ContainsAny(t.value, " \t\r\n"):
		return fmt.Errorf("the token from %s contains blanks or several lines: give just the token", t.source)
	case !strings.HasPrefix(t.value, "kpat_") && !strings.HasPrefix(t.value, "spat_"):
		return fmt.Errorf("the token from %s does not start with kpat_ (personal access token) or spat_ (system account token): "+
			"create one in Konnect under your account's Personal access tokens or Organization > System accounts", t.source)
	}
	return nil
}

func isTerminal(v any) bool {
	f, ok := v.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
