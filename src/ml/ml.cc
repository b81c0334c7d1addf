// Placeholder translation unit so the module builds before its first algorithm lands.
namespace touchpoint::ml {}
