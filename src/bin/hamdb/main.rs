fn main() {
    println!("hamdb {}", env!("CARGO_PKG_VERSION"));
}
