from .base_matcher import BaseMatcher

__all__ = ['BaseMatcher']
