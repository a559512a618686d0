//! [`Format`]: the `-o` values `bosun get` accepts.
use std::fmt;
use std::str::FromStr;

/// How `bosun get` prints objects (`-o`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
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
}

/// The formats `-o` accepts, in the order kubectl lists them.
const ALLOWED: &str = "json,name,wide,yaml";

/// An `-o` value that names no printer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseFormatError(String);

impl fmt::Display for ParseFormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unable to match a printer suitable for the output format {:?}, allowed formats are: {ALLOWED}",
            self.0
        )
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
            _ => Err(ParseFormatError(s.to_string())),
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
            assert_eq!(input.parse::<Format>(), Ok(want), "{input:?}");
            assert_eq!(want.to_string(), input, "round trip of {want:?}");
        }
    }

    #[test]
    fn unknown_formats_list_the_allowed_ones() {
        for input in ["x", "JSON", "yml", "table", " json", "jsonpath={.items}"] {
            let err = input.parse::<Format>().expect_err(input);
            assert_eq!(
                err.to_string(),
                format!(
                    "unable to match a printer suitable for the output format \"{input}\", \
                     allowed formats are: json,name,wide,yaml"
                ),
            );
        }
    }
}
