package cert

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/cert"
)

// durationValue is a pflag.Value for certificate lifetimes: Go durations ("8760h") plus days and years
// ("90d", "1y", "1y30d"), because nobody thinks of a certificate's life in hours.
type durationValue struct{ d *time.Duration }

func newDurationValue(def time.Duration, p *time.Duration) *durationValue {
	*p = def
	return &durationValue{d: p}
}

func (v *durationValue) String() string {
	if v.d == nil {
		return ""
	}
	return formatLifetime(*v.d)
}

func (v *durationValue) Set(s string) error {
	d, err := parseLifetime(s)
	if err != nil {
		return err
	}
	*v.d = d
	return nil
}

func (v *durationValue) Type() string { return "duration" }

const (
	day  = 24 * time.Hour
	year = 365 * day
)

// parseLifetime reads "1y", "90d", "1y30d", "36h", "8760h30m".
func parseLifetime(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if d, err := time.ParseDuration(s); err == nil {
		return d, nil
	}
	if s == "" {
		return 0, fmt.Errorf("an empty duration: use e.g. 1y, 90d or 720h")
	}
	var total time.Duration
	rest := s
	for rest != "" {
		i := strings.IndexFunc(rest, func(r rune) bool { return r < '0' || r > '9' })
		if i <= 0 {
			return 0, fmt.Errorf("%q is not a duration: use e.g. 1y, 90d or 720h", s)
		}
		n, err := strconv.Atoi(rest[:i])
		if err != nil {
			return 0, fmt.Errorf("%q is not a duration: use e.g. 1y, 90d or 720h", s)
		}
		unit := rest[i]
		switch unit {
		case 'y':
			total += time.Duration(n) * year
			rest = rest[i+1:]
		case 'd':
			total += time.Duration(n) * day
			rest = rest[i+1:]
		default:
			// The remainder must be a Go duration ("1y12h").
			d, err := time.ParseDuration(rest)
			if err != nil {
				return 0, fmt.Errorf("%q is not a duration: use e.g. 1y, 90d or 720h", s)
			}
			return total + d, nil
		}
	}
	return total, nil
}

func formatLifetime(d time.Duration) string {
	switch {
	case d > 0 && d%year == 0:
		return fmt.Sprintf("%dy", d/year)
	case d > 0 && d%day == 0:
		return fmt.Sprintf("%dd", d/day)
	}
	return d.String()
}

// keyTypeFromFlags maps --key-type/--curve/--key-size to a key type. curveSet and sizeSet say whether
// the user gave those flags, so a flag that does not fit the algorithm is an error, not ignored.
func keyTypeFromFlags(alg, curve string, size int, curveSet, sizeSet bool) (cert.KeyType, error) {
	switch strings.ToLower(alg) {
	case "ecdsa", "ec":
		if sizeSet {
			return "", fmt.Errorf("--key-size applies to --key-type rsa only: for ecdsa choose --curve P-256 or P-384")
		}
		switch strings.ToUpper(strings.ReplaceAll(curve, "_", "-")) {
		case "P-256", "P256", "":
			return cert.ECDSAP256, nil
		case "P-384", "P384":
			return cert.ECDSAP384, nil
		}
		return "", fmt.Errorf("--curve %q is not supported: use P-256 (default) or P-384", curve)
	case "rsa":
		if curveSet {
			return "", fmt.Errorf("--curve applies to --key-type ecdsa only: for rsa choose --key-size 2048, 3072 or 4096")
		}
		switch size {
		case 2048, 0:
			return cert.RSA2048, nil
		case 3072:
			return cert.RSA3072, nil
		case 4096:
			return cert.RSA4096, nil
		}
		return "", fmt.Errorf("--key-size %d is not supported: use 2048, 3072 or 4096", size)
	}
	return "", fmt.Errorf("--key-type %q is not supported: use ecdsa (default) or rsa", alg)
}

// normalizeAuthType accepts the Konnect spellings and the short ones.
func normalizeAuthType(s string) (string, error) {
	switch strings.ToLower(s) {
	case "":
		return "", nil
	case "pinned", authTypePinned:
		return authTypePinned, nil
	case "pki", authTypePKI:
		return authTypePKI, nil
	}
	return "", fmt.Errorf("--auth-type %q is not supported: use pinned_client_certs or pki_client_certs, or leave it out to ask Konnect", s)
}
