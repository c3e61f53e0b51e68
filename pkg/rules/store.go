package rules

import (
	"sort"
	"sync"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Store is an in-memory, indexed Lookup. Add strips every object it
// stores. It is safe for concurrent use, so a webhook can fill it from
// informer event handlers while requests read it; tests and `lint` fill it
// from files.
type Store struct {
	mu      sync.RWMutex
	gen     Generation
	tracked map[schema.GroupKind]bool // nil: every kind is tracked
	// objects by kind, then namespace, then name.
	objs map[schema.GroupKind]map[string]map[string]*unstructured.Unstructured
	// indexes by kind and index name, then value, then "namespace/name".
	idx     map[indexKey]map[string]map[string]*unstructured.Unstructured
	indexes map[schema.GroupKind][]Index
}

type indexKey struct {
	gk   schema.GroupKind
	name string
}

var _ Lookup = (*Store)(nil)

// NewStore returns a Store for a cluster of the given generation holding
// objs.
func NewStore(gen Generation, objs ...*unstructured.Unstructured) *Store {
	s := &Store{
		gen:     gen,
		objs:    map[schema.GroupKind]map[string]map[string]*unstructured.Unstructured{},
		idx:     map[indexKey]map[string]map[string]*unstructured.Unstructured{},
		indexes: map[schema.GroupKind][]Index{},
	}
	for _, ix := range Indexes() {
		s.indexes[ix.Kind] = append(s.indexes[ix.Kind], ix)
	}
	for _, o := range objs {
		s.Add(o)
	}
	return s
}

// SetGeneration changes the generation the store reports.
func (s *Store) SetGeneration(gen Generation) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gen = gen
}

// Track restricts the kinds the store reports as tracked (by default all
// kinds are). Objects of other kinds are still stored.
func (s *Store) Track(gks ...schema.GroupKind) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tracked = map[schema.GroupKind]bool{}
	for _, gk := range gks {
		s.tracked[gk] = true
	}
}

// Add stores a stripped copy of obj, replacing an object of the same kind,
// namespace and name.
func (s *Store) Add(obj *unstructured.Unstructured) {
	if obj == nil {
		return
	}
	o := Strip(obj)
	gk := o.GroupVersionKind().GroupKind()
	ns, name := o.GetNamespace(), o.GetName()
	s.mu.Lock()
	defer s.mu.Unlock()
	byNS := s.objs[gk]
	if byNS == nil {
		byNS = map[string]map[string]*unstructured.Unstructured{}
		s.objs[gk] = byNS
	}
	byName := byNS[ns]
	if byName == nil {
		byName = map[string]*unstructured.Unstructured{}
		byNS[ns] = byName
	}
	if old, ok := byName[name]; ok {
		s.unindex(gk, old)
	}
	byName[name] = o
	s.index(gk, o)
}

// Delete removes an object.
func (s *Store) Delete(gk schema.GroupKind, namespace, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	byName := s.objs[gk][namespace]
	old, ok := byName[name]
	if !ok {
		return
	}
	s.unindex(gk, old)
	delete(byName, name)
	if len(byName) == 0 {
		delete(s.objs[gk], namespace)
	}
}

// Len is the number of stored objects.
func (s *Store) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	n := 0
	for _, byNS := range s.objs {
		for _, byName := range byNS {
			n += len(byName)
		}
	}
	return n
}

func (s *Store) index(gk schema.GroupKind, o *unstructured.Unstructured) {
	key := objName(o)
	for _, ix := range s.indexes[gk] {
		k := indexKey{gk, ix.Name}
		for _, v := range ix.Func(o) {
			byValue := s.idx[k]
			if byValue == nil {
				byValue = map[string]map[string]*unstructured.Unstructured{}
				s.idx[k] = byValue
			}
			set := byValue[v]
			if set == nil {
				set = map[string]*unstructured.Unstructured{}
				byValue[v] = set
			}
			set[key] = o
		}
	}
}

func (s *Store) unindex(gk schema.GroupKind, o *unstructured.Unstructured) {
	key := objName(o)
	for _, ix := range s.indexes[gk] {
		byValue := s.idx[indexKey{gk, ix.Name}]
		for _, v := range ix.Func(o) {
			delete(byValue[v], key)
			if len(byValue[v]) == 0 {
				delete(byValue, v)
			}
		}
	}
}

// Get implements Lookup.
func (s *Store) Get(gk schema.GroupKind, namespace, name string) (*unstructured.Unstructured, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	o, ok := s.objs[gk][namespace][name]
	return o, ok
}

// List implements Lookup; the result is sorted by namespace and name.
func (s *Store) List(gk schema.GroupKind, namespace string) []*unstructured.Unstructured {
	s.mu.RLock()
	var out []*unstructured.Unstructured
	for ns, byName := range s.objs[gk] {
		if namespace != "" && ns != namespace {
			continue
		}
		for _, o := range byName {
			out = append(out, o)
		}
	}
	s.mu.RUnlock()
	sortObjects(out)
	return out
}

// ByIndex implements Lookup; the result is sorted by namespace and name.
func (s *Store) ByIndex(gk schema.GroupKind, index, value string) []*unstructured.Unstructured {
	s.mu.RLock()
	set := s.idx[indexKey{gk, index}][value]
	out := make([]*unstructured.Unstructured, 0, len(set))
	for _, o := range set {
		out = append(out, o)
	}
	s.mu.RUnlock()
	sortObjects(out)
	return out
}

// Tracks implements Lookup.
func (s *Store) Tracks(gk schema.GroupKind) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.tracked == nil || s.tracked[gk]
}

// Generation implements Lookup.
func (s *Store) Generation() Generation {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.gen
}

func sortObjects(objs []*unstructured.Unstructured) {
	sort.Slice(objs, func(i, j int) bool {
		if a, b := objs[i].GetNamespace(), objs[j].GetNamespace(); a != b {
			return a < b
		}
		return objs[i].GetName() < objs[j].GetName()
	})
}
