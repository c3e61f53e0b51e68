package rules

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"testing"
)

func TestCatalogueCodesAreStableUniqueAndDocumented(t *testing.T) {
	codeRE := regexp.MustCompile(`^KON[12][0-9]{3}$`) // KON2xxx: the Gateway API path
	seen := map[string]bool{}
	var order []string
	for _, r := range Catalogue() {
		if !codeRE.MatchString(r.Code) {
			t.Errorf("%s: code does not match %s", r.Code, codeRE)
		}
		if seen[r.Code] {
			t.Errorf("%s: duplicate code", r.Code)
		}
		seen[r.Code] = true
		order = append(order, r.Code)
		if r.Severity != SeverityDeny && r.Severity != SeverityWarn {
			t.Errorf("%s: severity %q", r.Code, r.Severity)
		}
		if r.Strict && r.Severity != SeverityWarn {
			t.Errorf("%s: a strict rule must warn by default", r.Code)
		}
		if r.Title == "" || r.Hint == "" || len(r.Kinds) == 0 || (r.Check == nil) == (r.CheckUpdate == nil) {
			t.Errorf("%s: title, hint, kinds and one of check or update check are required", r.Code)
		}
	}
	if !sort.StringsAreSorted(order) {
		t.Errorf("catalogue not in code order: %v", order)
	}
	if _, ok := RuleByCode("KON1001"); !ok {
		t.Error("RuleByCode(KON1001) not found")
	}
}

// Every rule must have a test that makes it fire; the test names carry the
// codes.
func TestEveryRuleHasATestThatMakesItFire(t *testing.T) {
	src := ""
	files, _ := filepath.Glob("*_test.go")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		src += string(b)
	}
	for _, r := range Catalogue() {
		if !regexp.MustCompile(`want: \[\]string\{[^}]*"` + r.Code + `"`).MatchString(src) {
			t.Errorf("%s: no test case expects it", r.Code)
		}
	}
}

func TestValidatedKindsCoverEveryRuleKind(t *testing.T) {
	kinds := map[string]bool{}
	for _, gk := range ValidatedKinds() {
		kinds[gk.String()] = true
	}
	for _, r := range Catalogue() {
		for _, gk := range r.Kinds {
			if !kinds[gk.String()] {
				t.Errorf("%s: kind %s missing from ValidatedKinds", r.Code, gk)
			}
		}
	}
}

// Every rule names the operator behaviour it predicts (issue 19): its
// releases, the upstream file and function at the release tags, and the
// condition the operator sets. Only an object the operator refuses may be
// denied: a rule that cannot name a refusal warns at most.
func TestEveryRuleNamesTheOperatorBehaviourItPredicts(t *testing.T) {
	tagRE := regexp.MustCompile(`@v[0-9]+\.[0-9]+\.[0-9]+`)
	for _, r := range Catalogue() {
		if !r.Releases.All() && len(r.Releases.Members()) == 0 {
			t.Errorf("%s: release range %v holds no release", r.Code, r.Releases)
		}
		if r.Upstream == "" || !tagRE.MatchString(r.Upstream) {
			t.Errorf("%s: Upstream must name the upstream file and function (or documented behaviour) at a release tag (@vX.Y.Z), got %q", r.Code, r.Upstream)
		}
		if !regexp.MustCompile(`Kong/(gateway|kong)-operator|Konnect`).MatchString(r.Upstream) {
			t.Errorf("%s: Upstream names neither Kong/gateway-operator, Kong/kong-operator nor Konnect: %q", r.Code, r.Upstream)
		}
		if r.Condition == "" {
			t.Errorf("%s: Condition (what the operator sets, or that nothing happens) is required", r.Code)
		}
		switch r.Effect {
		case EffectRefused:
		case EffectIgnored, EffectAdvice:
			if r.Severity == SeverityDeny {
				t.Errorf("%s: the operator does not refuse the object (effect %s), so the rule may warn at most", r.Code, r.Effect)
			}
		default:
			t.Errorf("%s: effect %q is not refused, ignored or advice", r.Code, r.Effect)
		}
	}
}
