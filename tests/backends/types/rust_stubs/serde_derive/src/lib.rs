//! Stand-in for serde_derive, written without syn (no crates.io here).
//!
//! `#[derive(Serialize)]` / `#[derive(Deserialize)]` on a non-generic struct with named
//! fields or an enum of unit variants expand to
//! - an implementation of the stand-in marker trait for the type;
//! - compile-time assertions that every field type implements the same trait, that a
//!   `skip_serializing_if = "path"` names a `fn(&FieldType) -> bool`, that a
//!   `deserialize_with = "path"` names a `fn(D) -> Result<FieldType, D::Error>` for any
//!   `D: Deserializer`, and that a field marked `default` implements `Default`;
//! - `compile_error!` for any `#[serde(...)]` key outside the few the generator uses, or a
//!   `rename` whose value is not a string literal.

use proc_macro::{Delimiter, TokenStream, TokenTree};

#[proc_macro_derive(Serialize, attributes(serde))]
pub fn derive_serialize(input: TokenStream) -> TokenStream {
    expand(input, true)
}

#[proc_macro_derive(Deserialize, attributes(serde))]
pub fn derive_deserialize(input: TokenStream) -> TokenStream {
    expand(input, false)
}

struct Field {
    ty: String,
    skip_if: Option<String>,
    deserialize_with: Option<String>,
    default: bool,
}

fn expand(input: TokenStream, serialize: bool) -> TokenStream {
    match analyse(input) {
        Ok((name, fields)) => emit(&name, &fields, serialize),
        Err(message) => format!("compile_error!({:?});", message).parse().unwrap(),
    }
}

fn analyse(input: TokenStream) -> Result<(String, Vec<Field>), String> {
    let tokens: Vec<TokenTree> = input.into_iter().collect();
    let mut kind = String::new();
    let mut name = String::new();
    let mut body = None;
    let mut i = 0;
    while i < tokens.len() {
        match &tokens[i] {
            TokenTree::Punct(p) if p.as_char() == '#' => {
                if let Some(TokenTree::Group(g)) = tokens.get(i + 1) {
                    check_attribute(g.stream(), &["rename_all", "deny_unknown_fields"])?;
                }
                i += 2;
                continue;
            }
            TokenTree::Ident(id) if kind.is_empty() && (id.to_string() == "struct" || id.to_string() == "enum") => {
                kind = id.to_string();
                match tokens.get(i + 1) {
                    Some(TokenTree::Ident(n)) => name = n.to_string(),
                    _ => return Err("expected a type name".into()),
                }
                i += 2;
                continue;
            }
            TokenTree::Punct(p) if p.as_char() == '<' && !kind.is_empty() => {
                return Err("the stand-in derive does not handle generics".into());
            }
            TokenTree::Group(g) if !kind.is_empty() && g.delimiter() == Delimiter::Brace => {
                body = Some(g.stream());
            }
            _ => {}
        }
        i += 1;
    }
    let body = body.ok_or("expected a braced body")?;
    if kind == "struct" {
        Ok((name, fields(body)?))
    } else {
        variants(body)?;
        Ok((name, Vec::new()))
    }
}

/// The fields of `{ #[attr] pub name: Type, ... }`.
fn fields(body: TokenStream) -> Result<Vec<Field>, String> {
    let mut out = Vec::new();
    let tokens: Vec<TokenTree> = body.into_iter().collect();
    let mut i = 0;
    while i < tokens.len() {
        let mut field = Field { ty: String::new(), skip_if: None, deserialize_with: None, default: false };
        // attributes
        while let Some(TokenTree::Punct(p)) = tokens.get(i) {
            if p.as_char() != '#' {
                break;
            }
            if let Some(TokenTree::Group(g)) = tokens.get(i + 1) {
                for (key, value) in check_attribute(
                    g.stream(),
                    &["rename", "skip_serializing_if", "deserialize_with", "default"],
                )? {
                    match key.as_str() {
                        "skip_serializing_if" => field.skip_if = value,
                        "deserialize_with" => field.deserialize_with = value,
                        "default" => field.default = true,
                        _ => {}
                    }
                }
            }
            i += 2;
        }
        // visibility, name, colon
        while i < tokens.len() {
            if let TokenTree::Punct(p) = &tokens[i] {
                if p.as_char() == ':' {
                    i += 1;
                    break;
                }
            }
            i += 1;
        }
        // the type, up to a comma outside angle brackets
        let mut depth = 0i32;
        let mut ty = Vec::new();
        while i < tokens.len() {
            if let TokenTree::Punct(p) = &tokens[i] {
                match p.as_char() {
                    '<' => depth += 1,
                    '>' => depth -= 1,
                    ',' if depth == 0 => {
                        i += 1;
                        break;
                    }
                    _ => {}
                }
            }
            ty.push(tokens[i].clone());
            i += 1;
        }
        if ty.is_empty() {
            continue;
        }
        field.ty = ty.into_iter().collect::<TokenStream>().to_string();
        out.push(field);
    }
    Ok(out)
}

/// Unit variants with optional attributes: `#[serde(rename = "x")] Name,`.
fn variants(body: TokenStream) -> Result<(), String> {
    let tokens: Vec<TokenTree> = body.into_iter().collect();
    let mut i = 0;
    while i < tokens.len() {
        match &tokens[i] {
            TokenTree::Punct(p) if p.as_char() == '#' => {
                if let Some(TokenTree::Group(g)) = tokens.get(i + 1) {
                    check_attribute(g.stream(), &["rename"])?;
                }
                i += 2;
            }
            TokenTree::Ident(_) => i += 1,
            TokenTree::Punct(p) if p.as_char() == ',' => i += 1,
            other => return Err(format!("only unit variants are expected, found `{}`", other)),
        }
    }
    Ok(())
}

/// Checks `serde(key = "value", flag)` inside `#[...]`; other attributes pass untouched.
fn check_attribute(attr: TokenStream, allowed: &[&str]) -> Result<Vec<(String, Option<String>)>, String> {
    let tokens: Vec<TokenTree> = attr.into_iter().collect();
    let is_serde = matches!(tokens.first(), Some(TokenTree::Ident(id)) if id.to_string() == "serde");
    if !is_serde {
        return Ok(Vec::new());
    }
    let args = match tokens.get(1) {
        Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Parenthesis => g.stream(),
        _ => return Err("expected serde(...)".into()),
    };
    let mut out = Vec::new();
    let args: Vec<TokenTree> = args.into_iter().collect();
    let mut i = 0;
    while i < args.len() {
        let key = match &args[i] {
            TokenTree::Ident(id) => id.to_string(),
            other => return Err(format!("unexpected `{}` in serde(...)", other)),
        };
        if !allowed.contains(&key.as_str()) {
            return Err(format!("serde attribute `{}` is not expected here", key));
        }
        i += 1;
        let mut value = None;
        if matches!(args.get(i), Some(TokenTree::Punct(p)) if p.as_char() == '=') {
            match args.get(i + 1) {
                Some(TokenTree::Literal(lit)) if lit.to_string().starts_with('"') => {
                    let text = lit.to_string();
                    value = Some(text[1..text.len() - 1].to_string());
                }
                _ => return Err(format!("serde attribute `{}` needs a string literal", key)),
            }
            i += 2;
        } else if key != "default" && key != "deny_unknown_fields" {
            return Err(format!("serde attribute `{}` needs a value", key));
        }
        out.push((key, value));
        if matches!(args.get(i), Some(TokenTree::Punct(p)) if p.as_char() == ',') {
            i += 1;
        }
    }
    Ok(out)
}

fn emit(name: &str, fields: &[Field], serialize: bool) -> TokenStream {
    let mut checks = String::new();
    for field in fields {
        if serialize {
            checks.push_str(&format!("assert_trait::<{}>();\n", field.ty));
            if let Some(path) = &field.skip_if {
                checks.push_str(&format!("let _: fn(&{}) -> bool = {};\n", field.ty, path));
            }
        } else {
            checks.push_str(&format!("assert_trait::<{}>();\n", field.ty));
            if field.default {
                checks.push_str(&format!("assert_default::<{}>();\n", field.ty));
            }
            if let Some(path) = &field.deserialize_with {
                checks.push_str(&format!(
                    "{{ fn with<'de, D: ::serde::Deserializer<'de>>() {{ let _: fn(D) -> ::core::result::Result<{}, D::Error> = {}; }} }}\n",
                    field.ty, path
                ));
            }
        }
    }
    let code = if serialize {
        format!(
            "impl ::serde::Serialize for {name} {{}}
            const _: () = {{
                #[allow(dead_code)] fn assert_trait<T: ::serde::Serialize>() {{}}
                #[allow(dead_code)] fn check() {{ {checks} }}
            }};"
        )
    } else {
        format!(
            "impl<'de> ::serde::Deserialize<'de> for {name} {{}}
            const _: () = {{
                #[allow(dead_code)] fn assert_trait<T: for<'de> ::serde::Deserialize<'de>>() {{}}
                #[allow(dead_code)] fn assert_default<T: ::core::default::Default>() {{}}
                #[allow(dead_code)] fn check() {{ {checks} }}
            }};"
        )
    };
    code.parse().unwrap()
}
