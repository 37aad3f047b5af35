package compiler

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
)

// walkJSON is walk over the JSON of the field named root (a top-level
// field; "" for the whole resource), in the same order and with the same
// paths, but without visiting CUE values, which costs far more. It
// reports false when js is not a single JSON value.
func walkJSON(js []byte, root string, fn func(path, pattern string)) bool {
	if root != "" {
		fn(root, root)
	}
	d := json.NewDecoder(bytes.NewReader(js))
	if walkToken(d, root, root, fn, 0) != nil {
		return false
	}
	_, err := d.Token()
	return err != nil // io.EOF: nothing follows
}

// maxWalkDepth bounds the recursion; the loader already refuses deeper
// documents.
const maxWalkDepth = 1000

func walkToken(d *json.Decoder, path, pattern string, fn func(path, pattern string), depth int) error {
	if depth > maxWalkDepth {
		return fmt.Errorf("nested deeper than %d", maxWalkDepth)
	}
	t, err := d.Token()
	if err != nil {
		return err
	}
	switch t {
	case json.Delim('{'):
		for d.More() {
			k, err := d.Token()
			if err != nil {
				return err
			}
			sel := label(k.(string))
			p, q := sel, sel
			if path != "" {
				p, q = path+"."+sel, pattern+"."+sel
			}
			fn(p, q)
			if err := walkToken(d, p, q, fn, depth+1); err != nil {
				return err
			}
		}
		_, err = d.Token()
	case json.Delim('['):
		for i := 0; d.More(); i++ {
			if err := walkToken(d, fmt.Sprintf("%s[%d]", path, i), pattern+"[]", fn, depth+1); err != nil {
				return err
			}
		}
		_, err = d.Token()
	}
	return err
}

// label writes a field name as CUE's selectors do: plain when it is an
// identifier, quoted otherwise.
func label(k string) string {
	if k == "" {
		return `""`
	}
	for i, c := range k {
		letter := c == '_' || c == '$' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
		if !letter && (i == 0 || c < '0' || c > '9') {
			return strconv.Quote(k)
		}
	}
	if k[0] == '_' || k[0] == '#' {
		return strconv.Quote(k)
	}
	return k
}
