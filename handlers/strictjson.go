package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
)

// maxJSONDepth bounds the nesting of a request body: no body sessiond reads
// is deeper than 3.
const maxJSONDepth = 32

// Problems strictJSON finds.
var (
	errDuplicateKey = errors.New("duplicate key")
	errTooDeep      = errors.New("nesting too deep")
)

// strictJSON checks a syntactically valid JSON document for what
// encoding/json lets through: a key repeated in one object, at any depth
// (encoding/json keeps the last value, while a proxy, a WAF or an audit log
// may read the first: the two would disagree on what the request says), and
// nesting deeper than maxJSONDepth. It returns the problem and where it is,
// as a FastAPI-style location below "body".
func strictJSON(raw []byte) (loc []any, err error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	// One frame per open object or array: its keys so far (objects), and
	// where the next value goes.
	type frame struct {
		keys    map[string]bool // nil for an array
		wantKey bool
		key     any // the current key, or the array index
	}
	var stack []frame
	path := func() []any {
		out := make([]any, 0, len(stack))
		for _, f := range stack {
			if f.key != nil {
				out = append(out, f.key)
			}
		}
		return out
	}
	// value notes that a value was read in the current frame.
	value := func() {
		if n := len(stack); n > 0 {
			f := &stack[n-1]
			if f.keys != nil {
				f.wantKey = true
			} else {
				f.key = f.key.(int) + 1
			}
		}
	}
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		if err != nil {
			return nil, nil // a syntax error: the decoder proper reports it
		}
		top := len(stack) - 1
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{', '[':
				if len(stack) >= maxJSONDepth {
					return path(), errTooDeep
				}
				f := frame{key: 0}
				if t == '{' {
					f = frame{keys: map[string]bool{}, wantKey: true}
				}
				stack = append(stack, f)
			case '}', ']':
				stack = stack[:top]
				value()
			}
		case string:
			if top >= 0 && stack[top].keys != nil && stack[top].wantKey {
				f := &stack[top]
				f.key, f.wantKey = t, false
				if f.keys[t] {
					return path(), errDuplicateKey
				}
				f.keys[t] = true
				continue
			}
			value()
		default:
			value()
		}
	}
}
