//! [`Format`]: the `-o` values `bosun get` accepts.
use std::fmt;
use std::str::FromStr;

use super::jsonpath::Template;

/// How `bosun get` prints objects (`-o`).
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Format {
    /// No `-o`: the kind's table.
    #[default]
    Table,
    /// `-o wide`: the table with extra columns.
    Wide,
    /// `-o json`.
    Json,
    /// `-o yaml`.
    Yaml,
    /// `-o name`: `kind/name` per line.
    Name,
    /// `-o jsonpath=TEMPLATE`: the template run on the object, or on a `List` of them.
    JsonPath(Template),
}

/// The formats `-o` accepts, in the order kubectl lists them.
const ALLOWED: &str = "json,jsonpath,name,wide,yaml";

/// An `-o` value that names no printer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseFormatError {
    /// No printer has this name.
    Unknown(String),
    /// `-o jsonpath=TEMPLATE` with a template that does not parse.
    JsonPath { template: String, error: String },
}

impl fmt::Display for ParseFormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseFormatError::Unknown(s) => write!(
                f,
                "unable to match a printer suitable for the output format {s:?}, allowed formats are: {ALLOWED}"
            ),
            ParseFormatError::JsonPath { template, error } => {
                write!(f, "error parsing jsonpath {template}, {error}")
            }
        }
    }
}

impl std::error::Error for ParseFormatError {}

impl FromStr for Format {
    type Err = ParseFormatError;

    /// Parses `""` (the table), `wide`, `json`, `yaml` or `name`, exactly as kubectl spells them.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "" => Ok(Format::Table),
            "wide" => Ok(Format::Wide),
            "json" => Ok(Format::Json),
            "yaml" => Ok(Format::Yaml),
            "name" => Ok(Format::Name),
            _ => match s
                .strip_prefix("jsonpath=")
                .or_else(|| s.strip_prefix("jsonpath-as-json="))
            {
                Some(t) => Template::parse(t).map(Format::JsonPath).map_err(|e| {
                    ParseFormatError::JsonPath {
                        template: t.to_string(),
                        error: e.to_string(),
                    }
                }),
                None => Err(ParseFormatError::Unknown(s.to_string())),
            },
        }
    }
}

impl fmt::Display for Format {
    /// The `-o` value that selects this format (`""` for the table).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Table => "",
            Format::Wide => "wide",
            Format::Json => "json",
            Format::Yaml => "yaml",
            Format::Name => "name",
            Format::JsonPath(_) => "jsonpath",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_kubectl_spellings() {
        let cases = [
            ("", Format::Table),
            ("wide", Format::Wide),
            ("json", Format::Json),
            ("yaml", Format::Yaml),
            ("name", Format::Name),
        ];
        for (input, want) in cases {
            assert_eq!(input.parse::<Format>(), Ok(want.clone()), "{input:?}");
            assert_eq!(want.to_string(), input, "round trip of {want:?}");
        }
    }

    #[test]
    fn unknown_formats_list_the_allowed_ones() {
        assert!(matches!(
            "jsonpath={.items[*].metadata.name}".parse::<Format>(),
            Ok(Format::JsonPath(_))
        ));
        assert_eq!(
            "jsonpath={.items"
                .parse::<Format>()
                .unwrap_err()
                .to_string(),
            "error parsing jsonpath {.items, unclosed action at position 0"
        );
        for input in ["x", "JSON", "yml", "table", " json", "jsonpat={.items}"] {
            let err = input.parse::<Format>().expect_err(input);
            assert_eq!(
                err.to_string(),
                format!(
                    "unable to match a printer suitable for the output format \"{input}\", \
                     allowed formats are: json,jsonpath,name,wide,yaml"
                ),
            );
        }
    }
}
