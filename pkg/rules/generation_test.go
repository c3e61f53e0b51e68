package rules

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseReleaseTakesMinorAndFullVersions(t *testing.T) {
	for in, want := range map[string]Generation{
		"1.4": GenerationKGO14, "v1.4.2": GenerationKGO14,
		"1.5": GenerationKGO15Plus, "1.6": GenerationKGO15Plus, "v1.6.2": GenerationKGO15Plus,
		"2.0": GenerationKO20, "v2.0.1": GenerationKO20,
		"2.1": GenerationKO21, "2.1.9": GenerationKO21,
		"2.2": GenerationKO22, "v2.2.3": GenerationKO22,
		"2.3": GenerationKO23, "v2.3.0-rc.3": GenerationKO23,
		"2.x": GenerationKO23, "2": GenerationKO23,
		"2.7": GenerationKO23, // a newer kong-operator 2 is read as the newest known
	} {
		got, err := ParseRelease(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, in := range []string{"", "1.3", "1.7", "3.0", "latest", "2.a"} {
		_, err := ParseRelease(in)
		assert.ErrorContains(t, err, "2.3 (kong-operator)", in)
	}
}

func TestGenerationForReadsTheReleaseFromDiscoveryAndTheCRDAnnotation(t *testing.T) {
	ko := Served{KonnectExtension: true, ControlPlaneV1Alpha2: true}
	for name, tc := range map[string]struct {
		served Served
		want   Generation
	}{
		"nothing":                            {Served{}, GenerationUnknown},
		"KGO 1.4 CRDs":                       {Served{LegacyKonnectExtension: true}, GenerationKGO14},
		"KGO 1.5/1.6 CRDs":                   {Served{KonnectExtension: true, LegacyKonnectExtension: true}, GenerationKGO15Plus},
		"kong-operator 2.0":                  {ko, GenerationKO20},
		"KongReferenceGrant: 2.1":            {Served{KonnectExtension: true, ControlPlaneV1Alpha2: true, ReferenceGrant: true}, GenerationKO21},
		"KonnectEventGateway: 2.2":           {Served{KonnectExtension: true, ControlPlaneV1Alpha2: true, ReferenceGrant: true, EventGateway: true}, GenerationKO22},
		"KonnectAIGateway: 2.3":              {Served{KonnectExtension: true, ControlPlaneV1Alpha2: true, ReferenceGrant: true, EventGateway: true, AIGateway: true}, GenerationKO23},
		"annotation wins":                    {Served{KonnectExtension: true, ControlPlaneV1Alpha2: true, ReferenceGrant: true, CRDVersion: "v2.1.4"}, GenerationKO21},
		"kubernetes-configuration v2":        {Served{KonnectExtension: true, ControlPlaneV1Alpha2: true, CRDVersion: "v2.0.1"}, GenerationKO20},
		"v1 annotation is not a KGO release": {Served{KonnectExtension: true, LegacyKonnectExtension: true, CRDVersion: "v1.4.0"}, GenerationKGO15Plus},
	} {
		assert.Equal(t, tc.want, GenerationFor(tc.served), name)
	}
}

func TestRangeContainsOrderedGenerations(t *testing.T) {
	assert.True(t, Range{}.Contains(GenerationUnknown), "an unbounded range holds the unknown generation")
	assert.False(t, Since(GenerationKO22).Contains(GenerationUnknown), "a bounded range never holds the unknown generation")
	assert.Equal(t, []Generation{GenerationKO22, GenerationKO23}, Since(GenerationKO22).Members())
	assert.Equal(t, []Generation{GenerationKGO14, GenerationKGO15Plus, GenerationKO20}, Until(GenerationKO20).Members())
	assert.Equal(t, []Generation{GenerationKO21}, Only(GenerationKO21).Members())
	assert.Equal(t, "ko-2.2 and later", Since(GenerationKO22).String())
	assert.Equal(t, "kgo-1.4 .. kgo-1.5+", Until(GenerationKGO15Plus).String())
	assert.True(t, GenerationKO23.ReferenceGrants())
	assert.False(t, GenerationKO20.ReferenceGrants())
	assert.Equal(t, "kong-operator 2.2", GenerationKO22.Release())
	active, known := GenerationKO21.LegacyKonnectExtensionActive()
	assert.False(t, active)
	assert.True(t, known)
}
