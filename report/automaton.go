package report

import (
	"slices"
	"strings"
)

// automaton is an Aho–Corasick matcher over every literal of every rule,
// so classifying a text is one pass over its bytes whatever the number of
// rules (Aho & Corasick, "Efficient string matching", CACM 18(6), 1975).
// The goto and failure functions are folded into one dense transition
// table (a DFA), indexed by byte class: literals use few distinct bytes,
// so the alphabet is reduced to those plus one class for everything else,
// which keeps the table small enough for the CPU cache.
//
// Matching is ASCII case-insensitive: the text's bytes are lower-cased on
// the fly, so a reply is not copied just to be searched. Literals are
// stored lower-cased (loadRules lower-cases them).
type automaton struct {
	classes [256]uint8 // byte → class; 0 is "no literal has this byte"
	nclass  int
	next    []int32 // state*nclass + class → state
	// out[state] lists the literal ids that end at state, including
	// those reached through failure links.
	out [][]int32
}

// newAutomaton builds the DFA for lits; literal i is reported as id i.
func newAutomaton(lits []string) *automaton {
	a := &automaton{}
	n := 1
	for _, l := range lits {
		for i := 0; i < len(l); i++ {
			b := lower(l[i])
			if a.classes[b] == 0 {
				a.classes[b] = uint8(n)
				n++
			}
		}
	}
	// Upper-case ASCII letters share their lower-case class.
	for c := 'A'; c <= 'Z'; c++ {
		a.classes[c] = a.classes[c+'a'-'A']
	}
	a.nclass = n

	// Trie. Its exact size up front, so the table is allocated once:
	// over the sorted literals, each adds the bytes it does not share
	// with the one before.
	sorted := slices.Clone(lits)
	for i := range sorted {
		sorted[i] = strings.ToLower(sorted[i])
	}
	slices.Sort(sorted)
	total := 1
	for i, l := range sorted {
		common := 0
		if i > 0 {
			p := sorted[i-1]
			for common < len(l) && common < len(p) && l[common] == p[common] {
				common++
			}
		}
		total += len(l) - common
	}
	a.next = make([]int32, n, total*n) // state 0, the root
	a.out = make([][]int32, 1, total)
	for id, l := range lits {
		s := int32(0)
		for i := 0; i < len(l); i++ {
			c := int32(a.classes[lower(l[i])])
			t := a.next[s*int32(n)+c]
			if t == 0 {
				t = int32(len(a.out))
				a.out = append(a.out, nil)
				a.next = append(a.next, make([]int32, n)...)
				a.next[s*int32(n)+c] = t
			}
			s = t
		}
		a.out[s] = append(a.out[s], int32(id))
	}

	// Breadth-first: failure links, folded into the transition table.
	fail := make([]int32, len(a.out))
	queue := make([]int32, 0, len(a.out))
	for c := 1; c < n; c++ {
		if t := a.next[c]; t != 0 {
			queue = append(queue, t)
		}
	}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		a.out[s] = append(a.out[s], a.out[fail[s]]...)
		for c := int32(0); c < int32(n); c++ {
			t := a.next[s*int32(n)+c]
			if t != 0 && c != 0 {
				fail[t] = a.next[fail[s]*int32(n)+c]
				queue = append(queue, t)
				continue
			}
			a.next[s*int32(n)+c] = a.next[fail[s]*int32(n)+c]
		}
	}
	return a
}

// scan calls hit for every literal occurrence in s (a literal may be
// reported more than once).
func (a *automaton) scan(s string, hit func(id int32)) {
	n := int32(a.nclass)
	st := int32(0)
	for i := 0; i < len(s); i++ {
		st = a.next[st*n+int32(a.classes[s[i]])]
		for _, id := range a.out[st] {
			hit(id)
		}
	}
}

// scanInto appends the ids of the literals found in s to hits, up to
// its capacity; overflow reports that more were found. No callback: the
// classifier's hot loop.
func (a *automaton) scanInto(s string, hits []int32) (_ []int32, overflow bool) {
	n := int32(a.nclass)
	st := int32(0)
	next, classes, out := a.next, &a.classes, a.out
	for i := 0; i < len(s); i++ {
		st = next[st*n+int32(classes[s[i]])]
		if o := out[st]; len(o) > 0 {
			if len(hits)+len(o) > cap(hits) {
				overflow = true
				continue
			}
			hits = append(hits, o...)
		}
	}
	return hits, overflow
}

func lower(b byte) byte {
	if 'A' <= b && b <= 'Z' {
		return b + 'a' - 'A'
	}
	return b
}
