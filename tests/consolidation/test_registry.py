"""Consolidation reads successful skill usages from the real skill registry."""
from agentcl.consolidation import consolidate
from agentcl.model import load_promoted
from skills import SkillRegistry, skill


@skill
def get_weather(city: str) -> str:
    """Current weather of a city.

    Args:
        city: the city name.
    """
    return f"sunny in {city}"


@skill
def convert_currency(amount: float, to: str) -> str:
    """Convert dollars to another currency.

    Args:
        amount: how many dollars.
        to: target currency code.
    """
    return f"{amount} {to}"


def test_usages_from_registry_and_retired_skills(small_store, home, embedder):
    registry = SkillRegistry.in_memory(embedder=embedder)
    registry.register(get_weather)
    registry.register(convert_currency)
    for city in ("paris", "rome", "oslo", "lima", "kyiv", "cairo"):
        assert registry.call("get_weather", {"city": city}, task=f"what is the weather in {city} today").ok
    for n in (5, 10, 20, 50, 75, 100):
        registry.call("convert_currency", {"amount": n, "to": "EUR"}, task=f"convert {n} dollars to euros")
    registry.call("get_weather", {"city": 3}, task="weather in a number")  # fails validation: not learned
    report = consolidate(small_store, registry, device="cpu")
    assert report.promoted and report.new_usages == 12, report.to_dict()
    model = load_promoted(home, embedder=embedder)
    name, args, _ = model.predict_skill("how is the weather in madrid")
    assert name == "get_weather" and set(args) == {"city"}
    assert consolidate(small_store, registry, device="cpu").new_usages == 0  # already learned
    registry.deprecate("convert_currency")
    report = consolidate(small_store, registry, device="cpu")
    assert report.promoted and report.retired_skills == ["convert_currency"] and report.removed_from_buffer > 0
    model = load_promoted(home, embedder=embedder)
    assert model.predict_skill("convert 30 dollars to euros")[0] == "get_weather"  # never the retired one
