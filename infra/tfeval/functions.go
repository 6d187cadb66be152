package tfeval

import (
	"crypto/md5" // #nosec G501 -- filemd5 is part of Terraform's language
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math/big"
	"net/netip"
	"os"

	"github.com/hashicorp/hcl/v2/ext/tryfunc"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

// functions returns the Terraform built-ins the Palisade configuration uses.
// A call to any other function fails the evaluation, which the tests report.
func functions() map[string]function.Function {
	return map[string]function.Function{
		"alltrue":      allTrueFunc,
		"base64encode": base64EncodeFunc,
		"can":          tryfunc.CanFunc,
		"cidrhost":     cidrHostFunc,
		"cidrsubnet":   cidrSubnetFunc,
		"coalesce":     stdlib.CoalesceFunc,
		"concat":       stdlib.ConcatFunc,
		"contains":     stdlib.ContainsFunc,
		"distinct":     stdlib.DistinctFunc,
		"filemd5":      fileMD5Func,
		"flatten":      stdlib.FlattenFunc,
		"floor":        stdlib.FloorFunc,
		"format":       stdlib.FormatFunc,
		"join":         stdlib.JoinFunc,
		"jsonencode":   stdlib.JSONEncodeFunc,
		"keys":         stdlib.KeysFunc,
		"length":       stdlib.LengthFunc,
		"lookup":       stdlib.LookupFunc,
		"lower":        stdlib.LowerFunc,
		"max":          stdlib.MaxFunc,
		"merge":        stdlib.MergeFunc,
		"min":          stdlib.MinFunc,
		"pow":          stdlib.PowFunc,
		"range":        stdlib.RangeFunc,
		"regex":        stdlib.RegexFunc,
		"replace":      stdlib.ReplaceFunc,
		"setproduct":   stdlib.SetProductFunc,
		"slice":        stdlib.SliceFunc,
		"split":        stdlib.SplitFunc,
		"tolist":       toFunc(cty.List(cty.DynamicPseudoType)),
		"tomap":        toFunc(cty.Map(cty.DynamicPseudoType)),
		"tonumber":     toFunc(cty.Number),
		"toset":        toFunc(cty.Set(cty.DynamicPseudoType)),
		"tostring":     toFunc(cty.String),
		"try":          tryfunc.TryFunc,
		"upper":        stdlib.UpperFunc,
		"values":       stdlib.ValuesFunc,
	}
}

// fileMD5Func is filemd5: the hex MD5 of a file, read relative to the
// working directory as Terraform does (modules pass "${path.module}/…").
var fileMD5Func = function.New(&function.Spec{
	Params: []function.Parameter{{Name: "path", Type: cty.String}},
	Type:   function.StaticReturnType(cty.String),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		data, err := os.ReadFile(args[0].AsString()) // #nosec G304 -- a path in the Terraform configuration under test, as filemd5 reads it
		if err != nil {
			return cty.NilVal, err
		}
		sum := md5.Sum(data) // #nosec G401 -- Terraform's filemd5, a change detector, not a security hash
		return cty.StringVal(hex.EncodeToString(sum[:])), nil
	},
})

func toFunc(want cty.Type) function.Function {
	return function.New(&function.Spec{
		Params: []function.Parameter{{Name: "v", Type: cty.DynamicPseudoType, AllowNull: true, AllowUnknown: true, AllowDynamicType: true}},
		Type: func(args []cty.Value) (cty.Type, error) {
			v, err := convert.Convert(args[0], want)
			if err != nil {
				return cty.NilType, err
			}
			return v.Type(), nil
		},
		Impl: func(args []cty.Value, retType cty.Type) (cty.Value, error) {
			return convert.Convert(args[0], retType)
		},
	})
}

var allTrueFunc = function.New(&function.Spec{
	Params: []function.Parameter{{Name: "list", Type: cty.List(cty.Bool)}},
	Type:   function.StaticReturnType(cty.Bool),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		result := cty.True
		for it := args[0].ElementIterator(); it.Next(); {
			_, v := it.Element()
			if !v.IsKnown() {
				return cty.UnknownVal(cty.Bool), nil
			}
			if v.IsNull() || v.False() {
				result = cty.False
			}
		}
		return result, nil
	},
})

var base64EncodeFunc = function.New(&function.Spec{
	Params: []function.Parameter{{Name: "str", Type: cty.String}},
	Type:   function.StaticReturnType(cty.String),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		return cty.StringVal(base64.StdEncoding.EncodeToString([]byte(args[0].AsString()))), nil
	},
})

var cidrSubnetFunc = function.New(&function.Spec{
	Params: []function.Parameter{
		{Name: "prefix", Type: cty.String},
		{Name: "newbits", Type: cty.Number},
		{Name: "netnum", Type: cty.Number},
	},
	Type: function.StaticReturnType(cty.String),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		p, err := netip.ParsePrefix(args[0].AsString())
		if err != nil || !p.Addr().Is4() {
			return cty.NilVal, fmt.Errorf("invalid IPv4 prefix %q", args[0].AsString())
		}
		newbits, _ := args[1].AsBigFloat().Int64()
		netnum, _ := args[2].AsBigFloat().Int64()
		bits := p.Bits() + int(newbits)
		if bits > 32 || netnum < 0 || netnum >= 1<<newbits {
			return cty.NilVal, fmt.Errorf("cannot take subnet %d of %d new bits from %s", netnum, newbits, p)
		}
		base := p.Masked().Addr().As4()
		n := uint32(base[0])<<24 | uint32(base[1])<<16 | uint32(base[2])<<8 | uint32(base[3])
		n |= uint32(netnum) << (32 - bits)
		addr := netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
		return cty.StringVal(netip.PrefixFrom(addr, bits).String()), nil
	},
})

var cidrHostFunc = function.New(&function.Spec{
	Params: []function.Parameter{
		{Name: "prefix", Type: cty.String},
		{Name: "hostnum", Type: cty.Number},
	},
	Type: function.StaticReturnType(cty.String),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		p, err := netip.ParsePrefix(args[0].AsString())
		if err != nil || !p.Addr().Is4() {
			return cty.NilVal, fmt.Errorf("invalid IPv4 prefix %q", args[0].AsString())
		}
		host, _ := args[1].AsBigFloat().Int64()
		if host < 0 || host >= 1<<(32-p.Bits()) {
			return cty.NilVal, fmt.Errorf("host %d out of %s", host, p)
		}
		base := p.Masked().Addr().As4()
		n := new(big.Int).SetBytes(base[:])
		n.Add(n, big.NewInt(host))
		b := n.FillBytes(make([]byte, 4))
		return cty.StringVal(netip.AddrFrom4([4]byte(b)).String()), nil
	},
})
