// Placeholder translation unit so the module builds before its first job lands.
namespace touchpoint::insight {}
