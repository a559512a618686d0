mod output;
fn main() {}
