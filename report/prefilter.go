package report

import "regexp/syntax"

// The prefilter: Go's regexp runs an NFA over long alternations, about
// 10 µs per rule on a typical reply. Almost every rule can only match when
// one of a few literal words occurs in the text, so each regex gets the
// set of literals one of which every match must contain (required); the
// rules' automaton finds those literals in one pass, and a regexp runs
// only for rules whose literals were seen.

// minLiteral is the shortest literal worth a prefilter: shorter ones
// occur in almost every text and filter nothing.
const minLiteral = 3

func useful(lits []string) bool {
	if len(lits) == 0 {
		return false
	}
	for _, l := range lits {
		if len(l) < minLiteral {
			return false
		}
	}
	return true
}

// required returns a set of literals such that any match of re contains
// at least one of them; ok is false when no such set is known (the
// expression can match without any fixed text).
func required(re *syntax.Regexp) (lits []string, ok bool) {
	switch re.Op {
	case syntax.OpLiteral:
		if re.Flags&syntax.FoldCase != 0 {
			return nil, false
		}
		return []string{string(re.Rune)}, true
	case syntax.OpCapture, syntax.OpPlus:
		return required(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min < 1 {
			return nil, false
		}
		return required(re.Sub[0])
	case syntax.OpAlternate:
		var all []string
		for _, sub := range re.Sub {
			l, ok := required(sub)
			if !ok {
				return nil, false
			}
			all = append(all, l...)
		}
		return all, true
	case syntax.OpConcat:
		// Any one child's set will do; take the one whose shortest
		// literal is longest, since it filters best.
		var best []string
		bestMin := 0
		for _, sub := range re.Sub {
			l, ok := required(sub)
			if !ok {
				continue
			}
			if m := shortest(l); m > bestMin {
				best, bestMin = l, m
			}
		}
		return best, best != nil
	}
	return nil, false
}

func shortest(lits []string) int {
	m := -1
	for _, l := range lits {
		if m < 0 || len(l) < m {
			m = len(l)
		}
	}
	return m
}
