// Package rules is the catalogue of admission rules for Kong Gateway
// Operator (KGO) resources: cross-object checks that KGO only makes at
// reconcile time (or never), and that the CRDs' CEL rules cannot make.
//
// Every rule is a pure function of the object under review (an
// *unstructured.Unstructured, so that both CRD generations work) and a
// read-only Lookup of other objects. A rule has a stable code (KON1001...),
// a severity (deny or warn; "missing target" rules warn by default and deny
// with Options.Strict), the kinds it checks, a title and a hint naming the
// fix. Catalogue lists them; docs/rules.md is generated from it
// (go generate ./pkg/rules).
//
// A webhook uses the package like this:
//
//	// Cache: informers for LookupKinds(), with Strip as transform and the
//	// functions of Indexes() as indexers; or fill a Store from the events.
//	served, _ := rules.ServedIn(restMapper) // discovery
//	store := rules.NewStore(rules.GenerationFor(served))
//	...
//	denies, warnings := rules.Evaluate(obj, store, rules.Options{Strict: strict})
//	// on UPDATE: rules.EvaluateUpdate(oldObj, obj, store, opts)
//	return warnings, rules.Invalid(obj, denies) // nil when admitted
//
// Rules read looked-up objects only through Get and ByIndex (never List),
// so their cost does not depend on the number of cached objects, and they
// read Secrets' metadata and key names only, never values.
package rules
