package lint

import (
	"fmt"
	"path/filepath"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// Kustomize renders the kustomization in dir as `kubectl apply -k dir`
// does: the kustomize API kubectl links (sigs.k8s.io/kustomize/api at the
// version k8s.io/cli-runtime pins), with the options of cli-runtime's
// KustomizeVisitor (default options, legacy reordering), and parses the
// result. Objects name the file "dir (kustomize)": lines are those of the
// rendered stream, not of the sources. fileIndex orders the objects in the
// report after those of the fileIndex files read before.
func Kustomize(dir string, fileIndex int) ([]*Object, error) {
	opts := krusty.MakeDefaultOptions()
	opts.Reorder = krusty.ReorderOptionLegacy
	m, err := krusty.MakeKustomizer(opts).Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		return nil, &ParseError{File: dir, Err: fmt.Errorf("kustomize: %w", err)}
	}
	y, err := m.AsYaml()
	if err != nil {
		return nil, &ParseError{File: dir, Err: fmt.Errorf("kustomize: %w", err)}
	}
	objs, err := Parse(filepath.Clean(dir)+" (kustomize)", y)
	for _, o := range objs {
		o.SetFileIndex(fileIndex)
	}
	return objs, err
}
